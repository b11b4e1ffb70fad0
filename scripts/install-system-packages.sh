#!/bin/sh
# Installs the Debian packages Loopscope needs beyond Python: bubblewrap (the
# sandbox's namespaces), util-linux's prlimit (resource limits) and libseccomp2
# (the seccomp filter); with --browser (what the tests need) also chromium, which the browser
# tests drive, nodejs, whose test runner checks the page's logic (tests/js/), and redis-server,
# which the distributed mode's tests start on loopback (tests/test_distributed.py).
# Uses apt-get as root, or sudo; does nothing if all are there.
set -e
missing=""
[ "${1:-}" = "--browser" ] && { [ -x /usr/lib/chromium/chromium ] || missing="$missing chromium"; }
[ "${1:-}" = "--browser" ] && { command -v node >/dev/null 2>&1 || missing="$missing nodejs"; }
[ "${1:-}" = "--browser" ] && { command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"; }
command -v bwrap >/dev/null 2>&1 || missing="$missing bubblewrap"
command -v prlimit >/dev/null 2>&1 || missing="$missing util-linux"
ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || missing="$missing libseccomp2"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  run=""
elif command -v sudo >/dev/null 2>&1; then
  run="sudo"
else
  echo "Please install these Debian packages as root:$missing" >&2
  exit 1
fi
$run apt-get update -qq
DEBIAN_FRONTEND=noninteractive $run apt-get install -y -qq $missing
