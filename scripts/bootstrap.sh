#!/usr/bin/env bash
# The one script behind README's two commands:
#
#   bash scripts/bootstrap.sh demo [args...]   # installs, then runs examples/xor.py and
#                                              # examples/mlp_digits.py (args go to the latter)
#   bash scripts/bootstrap.sh test [args...]   # installs, then runs pytest (args go to pytest)
#
# From a fresh clone with nothing but Python 3.10+ it:
#   1. creates .venv in the repo root with `python3 -m venv` (on Debian/Ubuntu it installs
#      python3-venv with apt-get when it runs as root; otherwise it prints the sudo command
#      and stops);
#   2. makes sure Graphviz's `dot` program is on PATH (apt-get install graphviz as root;
#      otherwise it prints the command to run: `demo` goes on without pictures, `test` stops);
#   3. for `test`, makes sure Debian's chromium and chromium-driver are there for the
#      browser tests (apt-get install as root; otherwise it prints the command and goes on:
#      those tests then skip, or fail under CI=true);
#   4. runs `pip install -e ".[dev]"` (for `test`: ".[dev,docs]", what the whole suite needs)
#      into .venv, but only when setup.cfg, setup.py or pyproject.toml changed since the last
#      install (a checksum stamp in .venv), so a second run starts at once;
#   5. runs the demo or pytest with .venv's python and exits with its exit code. pytest's
#      exit 5 ("no tests collected") is passed on, so it fails like any other error.
#
# Environment:
#   PYTHON=python3.12   the interpreter that creates .venv (default: python3)
#   SYMGRAPH_EXTRAS=... the extras to install (default: dev for demo, dev,docs for test)
#   SYMGRAPH_NO_DOT=1   let `test` run without dot (tests that need it skip, or fail if CI=true)

# Started with `sh scripts/bootstrap.sh ...`? Switch to bash before any bash syntax is read.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.symgraph-install-stamp"
PYTHON="${PYTHON:-python3}"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    cat >&2 <<'EOF'
usage: bash scripts/bootstrap.sh demo [args for examples/mlp_digits.py...]
       bash scripts/bootstrap.sh test [pytest args...]
EOF
    exit 2
}

is_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---------------------------------------------------------------- system packages (apt)

# True when apt has no package lists yet (a fresh container): install would find nothing.
apt_lists_empty() { ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }

# apt_install [apt-get options] PACKAGE...: quiet on success, shows apt's last lines on failure.
# Runs `apt-get update` first only when the lists are empty, or once more after a failure.
apt_install() {
    local out rc=0
    out="$(mktemp)"
    export DEBIAN_FRONTEND=noninteractive
    local apt=(apt-get -q -y -o DPkg::Lock::Timeout=120)
    if apt_lists_empty; then
        "${apt[@]}" update >"$out" 2>&1 </dev/null || true
    fi
    if ! "${apt[@]}" install "$@" >>"$out" 2>&1 </dev/null; then
        log "apt-get install failed; running apt-get update and trying once more"
        { "${apt[@]}" update && "${apt[@]}" install "$@"; } >>"$out" 2>&1 </dev/null || rc=$?
    fi
    if [ "$rc" != 0 ]; then
        tail -n 15 "$out" >&2
    fi
    rm -f "$out"
    return "$rc"
}

# The apt packages that give `$PYTHON -m venv` its ensurepip (Debian/Ubuntu split it off).
venv_packages() {
    local ver
    ver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    printf 'python3-venv python%s-venv' "$ver"
}

# ----------------------------------------------------------------------------- the venv

venv_usable() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pip' >/dev/null 2>&1
}

# make_venv OUTFILE: (re)create .venv; the venv module's messages go to OUTFILE.
make_venv() {
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" >"$1" 2>&1 && venv_usable
}

ensure_venv() {
    venv_usable && return 0
    local out
    out="$(mktemp)"
    log "creating .venv with $PYTHON ($("$PYTHON" -V 2>&1))"
    if make_venv "$out"; then
        rm -f "$out"
        return 0
    fi
    rm -rf "$VENV"
    if have apt-get; then
        local pkgs
        pkgs="$(venv_packages)"
        if is_root; then
            log "'$PYTHON -m venv' does not work here; installing python3-venv with apt-get"
            # python3-venv for the distribution's python3; pythonX.Y-venv when PYTHON is another.
            apt_install python3-venv || true
            make_venv "$out" && { rm -f "$out"; return 0; }
            apt_install "${pkgs#python3-venv }" || true
            make_venv "$out" && { rm -f "$out"; return 0; }
            cat "$out" >&2
            rm -f "$out"
            rm -rf "$VENV"
            die "'$PYTHON -m venv' still fails after installing $pkgs"
        fi
        cat "$out" >&2
        rm -f "$out"
        die "'$PYTHON -m venv' does not work: Debian and Ubuntu ship it separately. Run
    sudo apt-get update && sudo apt-get install -y $pkgs
and then this command again."
    fi
    cat "$out" >&2
    rm -f "$out"
    die "'$PYTHON -m venv' does not work: install your system's venv support for $PYTHON \
(or set PYTHON=/path/to/python3.10+), then run this command again"
}

# --------------------------------------------------------------------------- Graphviz dot

# ensure_dot MODE: dot is optional for `demo` (pictures only), required for `test`.
ensure_dot() {
    local mode="$1"
    have dot && return 0
    if is_root && have apt-get; then
        log "Graphviz's dot is missing; installing it: apt-get install -y graphviz"
        if apt_install graphviz && have dot; then
            return 0
        fi
        warn "could not install graphviz with apt-get"
    fi
    local how
    if have apt-get; then
        if is_root; then how="apt-get install -y graphviz"; else how="sudo apt-get install -y graphviz"; fi
    else
        how="your package manager's graphviz package (brew install graphviz, dnf install graphviz, ...)"
    fi
    if [ "$mode" = demo ]; then
        warn "Graphviz's dot is not installed: the demo runs, but cannot draw pictures. To get them, run:
    $how"
        return 0
    fi
    if [ "${SYMGRAPH_NO_DOT:-}" = 1 ]; then
        warn "Graphviz's dot is not installed (SYMGRAPH_NO_DOT=1): tests that need it are skipped"
        return 0
    fi
    die "Graphviz's dot program is needed by the tests. Run
    $how
and then this command again (or set SYMGRAPH_NO_DOT=1 to run without it; tests needing it skip)."
}

# ---------------------------------------------------------- chromium (for `test`)

ensure_browser() {
    [ "$1" = test ] || return 0
    if have chromium && have chromedriver; then
        return 0
    fi
    if is_root && have apt-get; then
        log "installing chromium and chromium-driver for the browser tests (this takes a while)"
        if apt_install --no-install-recommends chromium chromium-driver \
            && have chromium && have chromedriver; then
            return 0
        fi
        warn "could not install chromium and chromium-driver: the browser tests cannot run"
        return 0
    fi
    warn "chromium or chromedriver is missing: the browser tests cannot run. Run
    sudo apt-get install -y --no-install-recommends chromium chromium-driver"
}

# ------------------------------------------------------------------- the package itself

# A checksum of what decides the install: the packaging files, the extras, the Python.
install_checksum() {
    "$VENV/bin/python" - "$EXTRAS" <<'EOF'
import hashlib, sys
h = hashlib.sha256(("%s|%s\n" % (sys.argv[1], sys.version)).encode())
for name in ("setup.cfg", "setup.py", "pyproject.toml"):
    try:
        with open(name, "rb") as f:
            h.update(name.encode() + b"\0" + f.read() + b"\0")
    except FileNotFoundError:
        pass
print(h.hexdigest())
EOF
}

ensure_installed() {
    local want
    want="$(install_checksum)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
        && "$VENV/bin/python" -c 'import importlib.metadata as m; m.version("symgraph")' \
            >/dev/null 2>&1; then
        return 0 # installed, and the packaging files are unchanged since
    fi
    rm -f "$STAMP"
    log "installing symgraph and its [$EXTRAS] extras into .venv (the first time takes a minute)"
    # --quiet still shows warnings and errors; only one kind of noise is dropped: a pip.conf
    # that names a missing local index dir warns once for every package looked up.
    if ! PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
        "$VENV/bin/python" -m pip install --quiet -e ".[$EXTRAS]" 2>&1 \
        | { grep -v "^WARNING: Location 'file:.*' is ignored" || true; } >&2; then
        die "pip install -e \".[$EXTRAS]\" failed (its errors are above)"
    fi
    printf '%s\n' "$want" >"$STAMP"
}

# ------------------------------------------------------------------------------- main

[ $# -ge 1 ] || usage
MODE="$1"
shift
case "$MODE" in
    demo | test) ;;
    *) usage ;;
esac

# `test` installs what the whole suite needs: the dev tools and the docs builder.
if [ "$MODE" = test ]; then
    EXTRAS="${SYMGRAPH_EXTRAS:-dev,docs}"
else
    EXTRAS="${SYMGRAPH_EXTRAS:-dev}"
fi

cd "$ROOT"
have "$PYTHON" || die "$PYTHON not found: install Python 3.10 or newer (or set PYTHON=...)"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || die "symgraph needs Python 3.10 or newer; $PYTHON is $("$PYTHON" -V 2>&1)"

ensure_venv
ensure_dot "$MODE"
ensure_browser "$MODE"
ensure_installed

# Run as if .venv were activated, so subprocesses that call `python` get this one.
export VIRTUAL_ENV="$VENV"
export PATH="$VENV/bin:$PATH"

if [ "$MODE" = demo ]; then
    "$VENV/bin/python" examples/xor.py
    echo
    exec "$VENV/bin/python" examples/mlp_digits.py "$@"
fi

rc=0
"$VENV/bin/python" -m pytest "$@" || rc=$?
if [ "$rc" = 5 ]; then
    printf 'ERROR: pytest collected no tests (exit 5); that counts as a failure\n' >&2
fi
exit "$rc"
