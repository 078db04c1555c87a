#!/usr/bin/env bats
# network.bats — escaping the network namespace: the host's loopback and abstract unix sockets,
# raw, packet, netlink and vsock sockets, every address family. playground has network none and
# no socket calls; server_application has loopback (its own lo) and @network-io. Nothing here
# ever connects anywhere but to listeners the test starts on the host's loopback.

load helpers

teardown() {
    stop "${LISTENER:-}"
}

@test "a TCP listener on the host's 127.0.0.1 is unreachable (ENOSYS in playground, ECONNREFUSED on the sandbox's own lo)" {
    "$PROBE" listen 127.0.0.1 0 >"$BATS_TEST_TMPDIR/l" &
    LISTENER=$!
    wait_for_line "$BATS_TEST_TMPDIR/l" listening
    local port
    port=$(sed -n 's/^listening //p' "$BATS_TEST_TMPDIR/l")
    blocked_as playground "errno ENOSYS 38" probe connect 127.0.0.1 "$port"
    blocked_as server_application "errno ECONNREFUSED 111" probe connect 127.0.0.1 "$port"
    # playground with sockets allowed: an empty namespace, no route at all
    local pol
    pol=$(policy_from playground netio "\"seccomp\": {\"allow\": [$ALLOW_WITH_NET]}")
    blocked_as "$pol" "errno ENETUNREACH 101" probe connect 127.0.0.1 "$port"
    # control: the listener was there all along
    run "$PROBE" connect 127.0.0.1 "$port"
    assert_output "ok 0"
}

@test "an abstract unix socket of the host is unreachable (ENOSYS in playground, ECONNREFUSED in server_application)" {
    local name=gbox-adv-$$-$BATS_TEST_NUMBER
    "$ATTACK" listen-abstract "$name" >"$BATS_TEST_TMPDIR/l" &
    LISTENER=$!
    wait_for_line "$BATS_TEST_TMPDIR/l" listening
    blocked_as playground "errno ENOSYS 38" probe unix-abstract "$name"
    blocked_as server_application "errno ECONNREFUSED 111" probe unix-abstract "$name"
    run "$PROBE" unix-abstract "$name"
    assert_output "ok 0"
}

@test "another sandbox's listener (TCP on its 127.0.0.1, abstract unix) is unreachable (ECONNREFUSED)" {
    local name=gbox-adv-other-$$
    "$GBOX" run --policy server_application --in-image sh -c \
        "attack listen-abstract $name & probe listen 127.0.0.1 0" >"$BATS_TEST_TMPDIR/l" 2>&1 &
    LISTENER=$!
    wait_for_line "$BATS_TEST_TMPDIR/l" "listening "
    wait_for_line "$BATS_TEST_TMPDIR/l" "listening$"
    local port
    port=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$BATS_TEST_TMPDIR/l")
    blocked_as server_application "errno ECONNREFUSED 111" probe connect 127.0.0.1 "$port"
    blocked_as server_application "errno ECONNREFUSED 111" probe unix-abstract "$name"
}

@test "raw and packet sockets: EPERM (no CAP_NET_RAW) and EAFNOSUPPORT (address family rule)" {
    blocked_as playground "errno ENOSYS 38" probe socket inet raw icmp
    blocked_as server_application "errno EPERM 1" probe socket inet raw icmp
    blocked_as server_application "errno EPERM 1" probe socket inet6 raw icmpv6
    blocked_as server_application "errno EAFNOSUPPORT 97" probe socket packet raw
    blocked_as server_application "errno EAFNOSUPPORT 97" probe socket packet dgram
    # veth policies allow ICMP echo sockets for the sandbox's group (ping_group_range of its own
    # namespace): an unprivileged datagram socket, not raw access
    blocked_as server_application "ok 3" probe socket inet dgram icmp
}

@test "rtnetlink in the sandbox's namespace: it lists only its own links and may change nothing (EPERM)" {
    blocked_as playground "socket: errno ENOSYS 38" attack netlink
    blocked_as server_application "$(printf '%s\n' 'socket: ok 3' 'links: lo eth0' 'link down: errno EPERM 1' 'add address: errno EPERM 1')" attack netlink
}

@test "netlink: only NETLINK_ROUTE; nf_tables (the usual road to root) EPROTONOSUPPORT, iptables setsockopt EPERM" {
    blocked_as server_application "created: 0" attack netlink-protocols
    blocked_as playground "created:" attack netlink-protocols
    blocked_as server_application "socket: errno EPROTONOSUPPORT 93" attack nftables
    # without the protocol rule, no CAP_NET_ADMIN: the kernel refuses the batch
    local pol
    pol=$(policy_from server_application anynetlink '"seccomp": {"rules": []}')
    blocked_as "$pol" "$(printf 'socket: ok 3\nnew table: errno EPERM 1')" attack nftables
    blocked_as server_application "$(printf 'socket: ok 3\nIPT_SO_SET_REPLACE: errno EPERM 1')" attack iptables
}

@test "AF_VSOCK (the hypervisor host, outside every network namespace): EAFNOSUPPORT (regression: was creatable)" {
    if [ -e /dev/vsock ]; then # control: on this host a process outside gbox can create them
        run "$ATTACK" vsock
        assert_line --index 0 --regexp '^stream: ok [0-9]+$'
    fi
    local want
    want=$(printf '%s\n' 'stream: errno EAFNOSUPPORT 97' 'dgram: errno EAFNOSUPPORT 97' 'seqpacket: errno EAFNOSUPPORT 97')
    blocked_as server_application "$want" attack vsock
    # playground has no socket calls at all, but the address family rule comes first
    blocked_as playground "$want" attack vsock
}

@test "every address family: only unix, inet, inet6 and netlink sockets, only unix socketpairs" {
    blocked_as server_application "$(printf 'created: unix inet inet6 netlink\nsocketpair: unix')" attack socket-families
    blocked_as playground "$(printf 'created:\nsocketpair: unix')" attack socket-families
}
