#!/bin/sh
# Install every Debian package gbox needs to build, test and benchmark.
# Idempotent: packages already present are not touched. Run as root.
#   scripts/install-deps.sh          build + test dependencies
#   scripts/install-deps.sh --bench  also the peers compared in tests/bench (crun, runc, bwrap)
#   scripts/install-deps.sh --vm     also what the cgroup v2 VM needs (scripts/vm-test, make check-vm)
# (flags combine)
set -eu

BUILD="build-essential pkg-config libseccomp-dev libjansson-dev libnl-3-dev libnl-route-3-dev"
TEST="libcmocka-dev bats bats-assert bats-support busybox-static jq iproute2 procps util-linux"
BENCH="bubblewrap crun runc hyperfine gnuplot-nox"
# the VM: qemu (TCG), busybox-static for its initramfs, kmod to resolve the kernel's modules,
# xz to unpack the kernel, e2fsprogs for its scratch disk (the kernel itself is fetched by vm-test)
VM="qemu-system-x86 busybox-static kmod xz-utils e2fsprogs"

want="$BUILD $TEST"
for a in "$@"; do
    case $a in
        --bench) want="$want $BENCH" ;;
        --vm) want="$want $VM" ;;
        *) echo "usage: $0 [--bench] [--vm]" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
