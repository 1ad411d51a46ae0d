#!/usr/bin/env bash
# Make sure the system Chromium the browser tests drive is installed (never `playwright install`:
# the Debian package works offline from the distribution mirror). Never fails the build: without
# Chromium the browser tests skip with a reason.
set -u

if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "notice: Chromium is not installed and cannot be installed here (needs root and apt-get);"
    echo "        the browser tests will be skipped. Install it with: apt-get install -y chromium"
    exit 0
fi
echo "Installing Chromium for the browser tests (apt-get install chromium)..."
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; then
    echo "Chromium installed."
else
    echo "notice: installing Chromium failed; the browser tests will be skipped."
fi
exit 0
