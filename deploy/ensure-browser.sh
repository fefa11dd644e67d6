#!/usr/bin/env bash
# Make sure headless Chromium is there for the console's browser tests (`npm test`).
#
#   CAUSEWAY_CHROMIUM  the browser to use (default /usr/bin/chromium)
#
# Uses Debian's `chromium` package: when the browser is missing and apt-get exists, installs it
# (as root, or through sudo without a password prompt); otherwise says what to run and exits 1.
# Never downloads a browser from elsewhere (`npx playwright install` is not used).
set -euo pipefail

browser="${CAUSEWAY_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  exit 0
fi
if [ "$browser" != /usr/bin/chromium ]; then
  echo "browser: CAUSEWAY_CHROMIUM=$browser is not an executable file" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser: $browser is missing and apt-get is not available here." >&2
  echo "  Install Chromium with your system's package manager, or set CAUSEWAY_CHROMIUM to its path." >&2
  exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "browser: $browser is missing. Install Debian's chromium package, then run the tests again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y chromium" >&2
  exit 1
fi

echo "browser: installing Debian's chromium package (apt-get)..."
log=$(mktemp)
export DEBIAN_FRONTEND=noninteractive
if ! { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
  echo "browser: apt-get could not install chromium; see $log" >&2
  tail -n 5 "$log" >&2 || true
  exit 1
fi
rm -f "$log"
if [ ! -x "$browser" ]; then
  echo "browser: chromium was installed but $browser does not exist" >&2
  exit 1
fi
echo "browser: $("$browser" --version 2>/dev/null || echo chromium) ready"
