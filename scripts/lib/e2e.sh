# shellcheck shell=bash
# The browser tests (tests/e2e/): Debian's chromium, installed with apt when missing, and playwright-core from
# tests/e2e/package-lock.json (`npm ci` when missing or when the lock file changed). Exports CPTS_CHROMIUM.
# Playwright never downloads a browser here: it drives /usr/bin/chromium through executablePath.

ensure_chromium() {
    local found
    found=$(command -v chromium || true)
    if [ -z "$found" ]; then
        echo "Chromium is missing: installing Debian's chromium package with apt"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
        found=$(command -v chromium) || { echo "chromium not found after installing" >&2; return 1; }
    fi
    CPTS_CHROMIUM="$found"
    export CPTS_CHROMIUM
}

ensure_e2e_deps() {
    local dir=tests/e2e stamp want
    stamp="$dir/node_modules/.cpts-installed"
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "installing the browser tests' dependencies (npm ci in $dir)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        echo "$want" > "$stamp"
    fi
}

ensure_e2e() {
    ensure_node
    ensure_chromium
    ensure_e2e_deps
    echo "browser tests: $("$CPTS_CHROMIUM" --version 2>/dev/null | head -n 1) driven by playwright-core"
}
