#!/usr/bin/env bash
# Make sure Chromium and ChromeDriver are available for the browser tests (dash.testing).
#
# Rules:
#   - both `chromium` and `chromedriver` on PATH: print their versions, exit 0;
#   - otherwise install Debian's `chromium` and `chromium-driver` with apt-get when we are
#     root (or passwordless sudo works), then print the versions;
#   - cannot install: with CI=true exit 1; otherwise warn that browser tests will be
#     skipped and exit 0.
set -uo pipefail

have_browser() {
    command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}

print_versions() {
    echo "chromium:     $(chromium --version 2>/dev/null | head -n1)"
    echo "chromedriver: $(chromedriver --version 2>/dev/null | head -n1)"
}

cannot_install() {
    if [ "${CI:-}" = "true" ]; then
        echo "ERROR: chromium/chromedriver are not on PATH and could not be installed ($1)." >&2
        echo "       Browser tests cannot run in CI without them." >&2
        exit 1
    fi
    echo "WARNING: chromium/chromedriver are not on PATH and could not be installed ($1)." >&2
    echo "         Browser tests (tests/browser) will be skipped." >&2
    exit 0
}

if have_browser; then
    print_versions
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    cannot_install "no apt-get on this system"
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    cannot_install "not root and passwordless sudo is not available"
fi

echo "Installing Debian's chromium and chromium-driver with apt-get ..."
export DEBIAN_FRONTEND=noninteractive
if ! "${SUDO[@]}" apt-get update -qq; then
    cannot_install "apt-get update failed"
fi
if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq chromium chromium-driver >/dev/null; then
    cannot_install "apt-get install chromium chromium-driver failed"
fi

if ! have_browser; then
    cannot_install "installed, but chromium/chromedriver are still not on PATH"
fi
print_versions
