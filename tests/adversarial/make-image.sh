#!/bin/sh
# Build the adversarial test image: a copy of the base image plus what an attacker would plant in
# an image they control (CVE-2021-30465 class and privilege fixtures):
#   /evil-abs    -> /home           an absolute symlink naming a host path
#   /evil-up     -> ../../../../../../../../..   a symlink climbing above the root
#   /evil-magic  -> /proc/self/root/etc           a path through a /proc magic link
#   /altproc + /proc -> /altproc    /proc itself redirected
#   /usr/bin/fcap-probe             the probe with file capabilities (setcap ...+eip)
# Usage: make-image.sh BASE_ROOTFS OUT_ROOTFS
set -eu
[ "$#" -eq 2 ] || { echo "usage: $0 BASE_ROOTFS OUT_ROOTFS" >&2; exit 2; }
base=$1
out=$2
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -a "$base" "$out"
ln -s /home "$out/evil-abs"
ln -s ../../../../../../../../.. "$out/evil-up"
ln -s /proc/self/root/etc "$out/evil-magic"
mkdir "$out/altproc"
rmdir "$out/proc"
ln -s /altproc "$out/proc"
cp "$out/usr/bin/probe" "$out/usr/bin/fcap-probe"
setcap cap_sys_admin,cap_dac_override,cap_setuid,cap_net_admin+eip "$out/usr/bin/fcap-probe"
