# shellcheck shell=bash
# A real OpenID Connect provider (npm oidc-provider, scripts/oidc/) on a free loopback port for the tests; it exports
# CPTS_TEST_OIDC_ISSUER and is stopped by stop_oidc. Its dependencies are installed with `npm ci` when missing or
# when package-lock.json changed since the last install.
OIDC_PID=""
OIDC_LOG=""

ensure_node() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        echo "Node.js is missing: installing nodejs and npm with apt"
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
    fi
    if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
        echo "the test OIDC provider needs Node.js 18 or newer (found $(node --version))" >&2
        return 1
    fi
}

ensure_oidc_deps() {
    local dir=scripts/oidc stamp want
    stamp="$dir/node_modules/.cpts-installed"
    want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "installing the test OIDC provider's dependencies (npm ci in $dir)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
        echo "$want" > "$stamp"
    fi
}

start_oidc() {
    ensure_node
    ensure_oidc_deps
    OIDC_LOG=$(mktemp /tmp/cpts-oidc.XXXXXX)
    node scripts/oidc/provider.mjs --port 0 >"$OIDC_LOG" 2>"$OIDC_LOG.err" &
    OIDC_PID=$!
    local waited=0
    while [ ! -s "$OIDC_LOG" ]; do
        if ! kill -0 "$OIDC_PID" 2>/dev/null || [ "$waited" -ge 300 ]; then
            echo "the test OIDC provider did not start:" >&2
            cat "$OIDC_LOG.err" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    CPTS_TEST_OIDC_ISSUER=$(head -n 1 "$OIDC_LOG")
    export CPTS_TEST_OIDC_ISSUER
    echo "OIDC provider (oidc-provider) started at $CPTS_TEST_OIDC_ISSUER"
}

stop_oidc() {
    if [ -n "$OIDC_PID" ]; then
        kill "$OIDC_PID" 2>/dev/null || true
        wait "$OIDC_PID" 2>/dev/null || true
    fi
    [ -n "$OIDC_LOG" ] && rm -f "$OIDC_LOG" "$OIDC_LOG.err"
    OIDC_PID=""
    OIDC_LOG=""
}
