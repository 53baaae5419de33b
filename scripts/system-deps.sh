#!/usr/bin/env bash
# Install the Debian packages miglab's tests and lab need, once per machine.
#   qemu-system-x86  real QEMU 7.2 for the lab and the recorded QMP replies
#   gcc-multilib     builds the 32-bit multiboot guest the lab runs
#   chromium         browser end-to-end tests and PDF reports
#   poppler-utils    pdftoppm, to check rendered PDF pages
# Skips the work when everything is already there, so `make test` stays quick.
set -euo pipefail
pkgs=(qemu-system-x86 gcc-multilib chromium poppler-utils)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
echo "installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
