#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded build) and need CJK fonts to render the Chinese UI.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${missing[*]} for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "ERROR: the browser tests need: ${missing[*]} (Debian: sudo apt-get install ${missing[*]})" >&2
    exit 1
fi
