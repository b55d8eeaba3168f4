#!/bin/sh
# One entry point for people and CI:
#   ./dev.sh demo [demo options]   set up .venv and run the demo on the embedded store
#   ./dev.sh test [pytest options] set up .venv, the system packages the tests need, lint, type-check, test
#   ./dev.sh setup                 only set up .venv
# It needs only Python 3.11+; it installs what else it needs (with apt when run as root on Debian).
set -eu
cd "$(dirname "$0")"
VENV=.venv
PY=${PYTHON:-python3}

say() { printf '%s\n' "$*" >&2; }
die() { say "dev.sh: $*"; exit 1; }

as_root_apt() {
    # apt-get install as root on Debian/Ubuntu; otherwise tell the user exactly what to run.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "dev.sh: installing $* with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
    else
        die "missing system packages: $*. Install them, for example: sudo apt-get install $*"
    fi
}

setup_venv() {
    command -v "$PY" >/dev/null 2>&1 || die "python3 not found; install Python 3.11 or newer"
    "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "Python 3.11 or newer is needed; $PY is $("$PY" -V 2>&1)"
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PY" -m venv "$VENV" >/dev/null 2>&1; then
            rm -rf "$VENV"
            # Debian splits venv/ensurepip into its own package.
            ver=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
            as_root_apt "python$ver-venv"
            "$PY" -m venv "$VENV"
        fi
    fi
    stamp="$VENV/.installed-$(cksum pyproject.toml | cut -d' ' -f1)"
    if [ ! -f "$stamp" ]; then
        say "dev.sh: installing ClassPulse and its dependencies into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e '.[dev]'
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

ensure_test_system_deps() {
    missing=""
    command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
    command -v chromium >/dev/null 2>&1 || [ -n "${CLASSPULSE_CHROMIUM:-}" ] || missing="$missing chromium"
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        as_root_apt $missing
    fi
}

cmd=${1:-help}
[ $# -gt 0 ] && shift
case "$cmd" in
    setup)
        setup_venv ;;
    demo)
        setup_venv
        exec "$VENV/bin/classpulse" demo "$@" ;;
    test)
        setup_venv
        ensure_test_system_deps
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/mypy"
        exec "$VENV/bin/pytest" "$@" ;;
    *)
        say "usage: ./dev.sh demo [options] | ./dev.sh test [pytest options] | ./dev.sh setup"
        exit 2 ;;
esac
