#!/usr/bin/env bash
# Install headless Chromium + its WebDriver for the report's browser test (tests/test_report_browser.py).
# Idempotent: does nothing when both are already on PATH. Debian/Ubuntu (apt); needs root or sudo.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "chromium: $(chromium --version 2>/dev/null | head -n1); chromedriver present"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install_chromium.sh: apt-get not found; install Chromium and chromedriver with your package manager" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium chromium-driver
chromium --version
chromedriver --version
