#!/usr/bin/env bash
# Install the system packages reportkit needs, only those missing: Pango for WeasyPrint, Noto fonts for
# Persian/Arabic/Hebrew, poppler-utils to look at PDF pages; for the tests, Chromium (browser tests), a
# PostgreSQL server (the tests start a throwaway one) and openssl (checks a timestamp as a recipient would).
set -euo pipefail
want=(libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core fonts-dejavu-core poppler-utils)
want+=(chromium)  # server-side capture ("Capture now", services/capture.py) drives Debian's chromium
if [ "${1:-}" = "--test" ]; then want+=(chromium postgresql openssl); fi
if [ "${1:-}" = "--test" ]; then want+=(redis-server); fi  # the job queue's Redis storage (tests/test_queue.py)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing system packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "Run as root or install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
