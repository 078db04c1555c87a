#!/usr/bin/env bats
# filesystem.bats — kernel settings and hardware through /proc, /sys and cgroup files, and the
# masked paths, under playground and server_application.

load helpers

@test "/proc/sys is read-only: core_pattern, drop_caches, hostname, ASLR, overcommit, ip_forward (EROFS)" {
    local pol p
    for pol in playground server_application; do
        for p in kernel/core_pattern vm/drop_caches kernel/hostname kernel/randomize_va_space \
            vm/overcommit_memory net/ipv4/ip_forward; do
            attempt "$pol" probe write "/proc/sys/$p" x
            [ "$output" = "errno EROFS 30" ] || fail "$pol: /proc/sys/$p: $output"
        done
    done
}

@test "/sys shows nothing of the host: uevent_helper and cgroup files cannot even be reached" {
    local pol
    for pol in playground server_application; do
        blocked_as "$pol" "" probe ls /sys
        blocked_as "$pol" "errno ENOENT 2" probe write /sys/kernel/uevent_helper /tmp/x
        blocked_as "$pol" "errno ENOENT 2" probe write /sys/fs/cgroup/cgroup.procs 1
        blocked_as "$pol" "errno EROFS 30" probe mkdir /sys/fs
    done
}

@test "with sysfs mounted (filesystem.sys ro): read-only, and no cgroup file system under it" {
    local pol
    pol=$(policy_from server_application sysro '"filesystem": {"sys": "ro"}')
    attempt "$pol" sh -c 'probe write /sys/kernel/uevent_helper /tmp/x; probe write /sys/kernel/mm/transparent_hugepage/enabled never; probe ls /sys/fs/cgroup; probe write /sys/fs/cgroup/release_agent x; probe ls /sys/class/net'
    # server_application has a veth link: eth0 beside lo
    assert_output "$(printf '%s\n' 'errno EROFS 30' 'errno EROFS 30' 'errno ENOENT 2' eth0 lo)"
}

@test "cgroups: the sandbox sees only its own cgroup as / and has no cgroup file system" {
    local pol
    for pol in playground server_application; do
        attempt "$pol" sh -c 'cat /proc/self/cgroup; grep -c " - cgroup" /proc/self/mountinfo'
        run grep -v -E '^[0-9]+:[^:]*:/$' <<<"$output"
        assert_output "0"
    done
}

@test "masked paths (/proc/kcore, /proc/keys, /proc/kallsyms, /proc/sysrq-trigger, ...): the null device or an empty directory" {
    local pol p
    local -a paths=() want=()
    for p in $(jq -r '.filesystem.masked_paths[]' "$POLICY_DIR/base.json"); do
        paths+=("$p")
        # what the host has decides what must be there; /sys is empty in the sandbox anyway
        if [[ $p == /sys/* ]]; then want+=("$p: absent")
        elif [ -d "$p" ]; then want+=("$p: empty-dir")
        elif [ -e "$p" ]; then want+=("$p: null")
        else want+=("$p: absent"); fi
    done
    for pol in playground server_application; do
        blocked_as "$pol" "$(printf '%s\n' "${want[@]}")" attack masked "${paths[@]}"
    done
    # /proc/keys and /proc/kallsyms exist on every kernel this runs on: the mask is really there
    [ -e /proc/keys ] && [ -e /proc/kallsyms ]
}
