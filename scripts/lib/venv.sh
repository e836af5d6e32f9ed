# shellcheck shell=bash
# Creates (or reuses) the virtual environment at .venv and installs the project when pyproject.toml changed.
ensure_venv() {
    local root python stamp want
    root=$(pwd)
    python=${PYTHON:-python3}
    if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
        echo "cpts-gateway needs Python 3.11 or newer ($python is $("$python" --version 2>&1))" >&2
        return 1
    fi
    if ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
        echo "installing python3-venv (the venv module is missing)" >&2
        as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    fi
    if [ ! -x "$root/.venv/bin/python" ]; then
        echo "creating the virtual environment in .venv"
        "$python" -m venv "$root/.venv"
    fi
    stamp="$root/.venv/.cpts-installed"
    want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "installing cpts-gateway and its dependencies into .venv"
        "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
        "$root/.venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[dev]"
        echo "$want" > "$stamp"
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "needs root to run: $*" >&2; return 1
    fi
}
