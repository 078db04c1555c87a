#!/bin/sh
# Install every Debian package gbox needs to build, test and benchmark.
# Idempotent: packages already present are not touched. Run as root.
#   scripts/install-deps.sh          build + test dependencies (clang and libFuzzer for make fuzz)
#   scripts/install-deps.sh --bench  also the peers compared in tests/bench (crun, runc, bwrap)
#   scripts/install-deps.sh --vm     also what the cgroup v2 VM needs (scripts/vm-test, make check-vm)
# (flags combine)
set -eu

# go-md2man: the man pages (docs/*.md -> roff) at build time.
# libarchive's static link needs the .a of its compressors: libacl1-dev, libzstd-dev, liblz4-dev.
BUILD="build-essential pkg-config libseccomp-dev libjansson-dev libnl-3-dev libnl-route-3-dev libnftables-dev
    libssl-dev libarchive-dev libacl1-dev libzstd-dev liblz4-dev go-md2man"
# podman: the OCI import test makes its layout with `podman save` (as root, no systemd needed);
# podman and containerd (ctr) also drive gbox as their OCI runtime in tests/oci
# valgrind: tests/valgrind runs the daemon under memcheck
TEST="libcmocka-dev bats bats-assert bats-support busybox-static jq iproute2 procps util-linux nftables socat
    python3 podman containerd bsdutils libcap2-bin valgrind"
FUZZ="clang libclang-rt-14-dev"
BENCH="bubblewrap crun runc hyperfine gnuplot-nox linux-perf"
# the VM: qemu (TCG), busybox-static for its initramfs, kmod to resolve the kernel's modules,
# xz to unpack the kernel, e2fsprogs for its scratch disk (the kernel itself is fetched by vm-test)
VM="qemu-system-x86 busybox-static kmod xz-utils e2fsprogs"

want="$BUILD $TEST $FUZZ"
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
# The group that may talk to gbox daemon's socket (docs/api.md); root only needs it to exist.
if ! getent group gbox >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then groupadd --system gbox; else echo "install-deps: no group gbox (run as root)" >&2; fi
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing (run as root)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
