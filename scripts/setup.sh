#!/usr/bin/env bash
# Install everything kdanim needs: system libraries (apt-get) and a virtualenv at .venv/.
# Safe to run again: each step is skipped when already done.
# --test also installs what the tests need: Debian's chromium, the browser the page tests drive.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="libcairo2-dev libpango1.0-dev pkg-config espeak-ng fonts-dejavu-core"
if [ "${1:-}" = "--test" ]; then
    APT_PACKAGES="$APT_PACKAGES chromium"
fi

missing=""
for p in $APT_PACKAGES; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
command -v npm >/dev/null 2>&1 || missing="$missing npm"   # fetches reveal.js for `kdanim slides`
if [ -n "$missing" ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "kdanim setup: please install the system packages:$missing (cairo and pango headers, espeak-ng)" >&2
        exit 1
    fi
    if [ "$(id -u)" -eq 0 ]; then SUDO=""
    elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"
    else
        echo "kdanim setup: need root or sudo to apt-get install:$missing" >&2
        exit 1
    fi
    echo "kdanim setup: installing system packages:$missing" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "kdanim setup: creating .venv" >&2
    "$PY" -m venv .venv
fi
# Reinstall only when pyproject.toml changed since the last successful install.
stamp=.venv/.kdanim-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "kdanim setup: installing Python packages into .venv" >&2
    log=.venv/install.log
    if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -e ".[test,digits]"; } >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "kdanim setup: installing the Python packages failed (full log: $log)" >&2
        exit 1
    fi
    touch "$stamp"
fi

# reveal.js (MIT) for the offline HTML deck of `kdanim slides`, from the npm registry; the
# version is kdanim.slides.REVEAL_VERSION. Unpacked once into .venv/share/kdanim/.
REVEAL_VERSION=6.0.2
reveal=.venv/share/kdanim/reveal.js-$REVEAL_VERSION
if [ ! -f "$reveal/dist/reveal.js" ]; then
    echo "kdanim setup: fetching reveal.js $REVEAL_VERSION with npm" >&2
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "reveal.js@$REVEAL_VERSION" >/dev/null)
    mkdir -p "$tmp/unpacked" "$(dirname "$reveal")"
    tar xzf "$tmp/reveal.js-$REVEAL_VERSION.tgz" -C "$tmp/unpacked" --strip-components=1
    rm -rf "$reveal" && mv "$tmp/unpacked" "$reveal"
fi

# axe-core (MPL-2.0) for the accessibility check of the pages (`kdanim check`, tests/test_accessibility.py),
# from the npm registry; the version is kdanim.publish.axe.AXE_VERSION. Unpacked once into .venv/share/kdanim/.
AXE_VERSION=4.14.1
axe=.venv/share/kdanim/axe-core-$AXE_VERSION
if [ ! -f "$axe/axe.min.js" ]; then
    echo "kdanim setup: fetching axe-core $AXE_VERSION with npm" >&2
    axe_tmp=$(mktemp -d)
    (cd "$axe_tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
    mkdir -p "$axe_tmp/unpacked" "$(dirname "$axe")"
    tar xzf "$axe_tmp/axe-core-$AXE_VERSION.tgz" -C "$axe_tmp/unpacked" --strip-components=1
    rm -rf "$axe" && mv "$axe_tmp/unpacked" "$axe"
    rm -rf "$axe_tmp"
fi
