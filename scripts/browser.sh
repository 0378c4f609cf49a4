#!/usr/bin/env bash
# Debian's chromium for the painting page's browser test (tests/test_paint_page.py drives it with
# playwright). Installs it where it is missing; where it cannot, that test skips with a message.
set -euo pipefail
command -v chromium >/dev/null && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing chromium (Debian package) for the painting page's browser test"
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null \
  || { $sudo apt-get update -q >/dev/null \
       && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium >/dev/null; }
