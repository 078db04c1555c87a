#!/usr/bin/env bats
# network.bats — the four network modes (none, loopback, veth with and without an egress
# allowlist, host), proven from inside the sandbox with the probe and from the "host side".
#
# The host side is never the machine's own network: every test makes its own network namespace
# (gbox-test-<pid>-<test>), runs gbox inside it with nsenter (which, unlike `ip netns exec`,
# keeps the cgroup mounts), puts its listeners there, and deletes it afterwards. gbox's veth host
# ends, routes and addresses all land in that namespace.

load helpers

setup() {
    NS=gbox-test-$$-$BATS_TEST_NUMBER
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    bg_pids=()
}

teardown() {
    local p
    for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$NS" 2>/dev/null || true
}

# in_ns CMD... — run CMD in the test's network namespace.
in_ns() {
    nsenter --net="/run/netns/$NS" -- "$@"
}

# gbox_ns ARGS... — `gbox run ARGS...` from inside the test's network namespace.
gbox_ns() {
    nsenter --net="/run/netns/$NS" -- "$GBOX" run "$@"
}

# gbox_bg ARGS... — `gbox run ARGS...` in the background in the test's namespace, its pid (nsenter
# execs gbox in place) in $! and remembered for teardown; stdout to $BATS_TEST_TMPDIR/out.
gbox_bg() {
    nsenter --net="/run/netns/$NS" -- "$GBOX" run "$@" >"$BATS_TEST_TMPDIR/out" 3>&- &
    bg_pids+=($!)
}

# net_policy NAME 'NETWORK MEMBERS' ['MORE TOP-LEVEL MEMBERS'] — a base policy with sockets
# allowed and the given network section.
net_policy() {
    policy_file "$1" "\"network\": {$2}, \"seccomp\": {\"allow\": [$ALLOW_WITH_NET]}${3:+, $3}"
}

# The fixed link most tests use: sandbox 10.231.7.2, host end 10.231.7.1.
FIXED='"mode": "veth", "address": "10.231.7.2", "host_address": "10.231.7.1"'

# listen_tcp PORT — a TCP listener on every address of the test's namespace that answers "hello".
listen_tcp() {
    nsenter --net="/run/netns/$NS" -- socat "TCP-LISTEN:$1,reuseaddr,fork" SYSTEM:'echo hello' 3>&- &
    bg_pids+=($!)
    wait_listening "$1" t
}

# listen_udp PORT FILE — write every datagram received on PORT to FILE.
listen_udp() {
    nsenter --net="/run/netns/$NS" -- socat -u "UDP-RECV:$1,reuseaddr" "OPEN:$2,creat,append" 3>&- &
    bg_pids+=($!)
    wait_listening "$1" u
}

wait_listening() {
    local i
    for i in $(seq 200); do
        [ -n "$(in_ns ss -Hln"$2" "sport = :$1")" ] && return 0
        sleep 0.01
    done
    fail "nothing listens on port $1 in $NS"
}

# dummy_link NAME — a link in the test's namespace that gbox did not make (a veth pair whose
# other end is NAME-p: this kernel has no dummy links).
dummy_link() {
    ip -n "$NS" link add "$1" type veth peer name "$1p"
}

# host_links — the links of the test's namespace other than lo, one name per line.
host_links() {
    ip -n "$NS" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); if ($2 != "lo" && $2 !~ /p$/) print $2 }'
}

# ---- none and loopback ----------------------------------------------------------------------

@test "none: a new namespace where only lo exists, and it is down" {
    local pol
    pol=$(net_policy none '"mode": "none"')
    run gbox_ns --policy "$pol" --in-image probe ifaces
    assert_success
    assert_output "lo down"
    run gbox_ns --policy "$pol" --in-image probe connect 127.0.0.1 80
    assert_failure 1
    assert_output "errno ENETUNREACH 101"
    assert_equal "$(host_links)" ""
}

@test "loopback: only lo, up with 127.0.0.1, and nothing of the host's namespace" {
    local pol
    pol=$(net_policy lo '"mode": "loopback"')
    listen_tcp 8080
    run gbox_ns --policy "$pol" --in-image probe ifaces
    assert_success
    assert_output "$(printf 'lo up\nlo 127.0.0.1/8')"
    # the listener is on the test namespace's 127.0.0.1, which is not the sandbox's
    run gbox_ns --policy "$pol" --in-image probe connect 127.0.0.1 8080
    assert_failure 1
    assert_output "errno ECONNREFUSED 111"
    assert_equal "$(host_links)" ""
}

# ---- veth -----------------------------------------------------------------------------------

@test "veth: eth0 with the policy's address, prefix and default route; lo up" {
    local pol
    pol=$(net_policy veth "$FIXED")
    run gbox_ns --policy "$pol" --in-image sh -c 'probe ifaces; probe routes'
    assert_success
    assert_output "$(printf '%s\n' 'lo up' 'eth0 up' 'lo 127.0.0.1/8' 'eth0 10.231.7.2/30' \
        'default via 10.231.7.1 dev eth0' '10.231.7.0/30 dev eth0')"
}

@test "veth: IPv4 only, no IPv6 address on eth0 (only lo's ::1)" {
    run gbox_ns --policy "$(net_policy veth "$FIXED")" --in-image cat /proc/net/if_inet6
    assert_success
    refute_output --partial eth0
    assert_output --partial " lo"
}

@test "veth: a /31 link from the policy's own pool" {
    local pol
    pol=$(net_policy veth31 '"mode": "veth", "pool": "10.232.0.0/24", "prefix": 31')
    run gbox_ns --policy "$pol" --report "$BATS_TEST_TMPDIR/r.json" --in-image probe routes
    assert_success
    local addr host
    addr=$(report_field "$BATS_TEST_TMPDIR/r.json" .network.address)
    host=$(report_field "$BATS_TEST_TMPDIR/r.json" .network.host_address)
    [[ $addr == 10.232.0.*/31 ]] || fail "address $addr not a /31 of the pool"
    assert_line "default via $host dev eth0"
}

@test "veth: the sandbox reaches a listener on the host end and, by the default route, another host address" {
    local pol
    pol=$(net_policy veth "$FIXED")
    in_ns ip addr add 198.51.100.1/32 dev lo
    listen_tcp 8080
    run gbox_ns --policy "$pol" --in-image sh -c 'probe connect 10.231.7.1 8080; probe connect 198.51.100.1 8080'
    assert_success
    assert_output "$(printf 'ok 0\nok 0')"
}

@test "veth: default_route false reaches only the link subnet" {
    local pol
    pol=$(net_policy veth "$FIXED, \"default_route\": false")
    in_ns ip addr add 198.51.100.1/32 dev lo
    listen_tcp 8080
    run gbox_ns --policy "$pol" --in-image sh -c 'probe routes; probe connect 10.231.7.1 8080; probe connect 198.51.100.1 8080'
    assert_output "$(printf '10.231.7.0/30 dev eth0\nok 0\nerrno ENETUNREACH 101')"
}

@test "veth: the host side reaches a listener inside the sandbox" {
    local pol
    pol=$(net_policy veth "$FIXED")
    gbox_bg --policy "$pol" --in-image probe listen 10.231.7.2 5555
    local i
    for i in $(seq 300); do grep -q listening "$BATS_TEST_TMPDIR/out" && break; sleep 0.01; done
    run in_ns socat -u /dev/null TCP:10.231.7.2:5555
    assert_success
    wait "${bg_pids[0]}"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$(printf 'listening 5555\naccepted')"
}

@test "veth: the report names both ends and their addresses" {
    local pol r=$BATS_TEST_TMPDIR/r.json
    pol=$(net_policy veth "$FIXED, \"egress\": [{\"to\": \"10.231.7.1/32\"}]")
    run gbox_ns --policy "$pol" --report "$r" --in-image true
    assert_success
    assert_equal "$(jq -c '.network | del(.host_interface)' "$r")" \
        '{"address":"10.231.7.2/30","default_route":true,"egress_rules":1,"host_address":"10.231.7.1","interface":"eth0","mode":"veth"}'
    [[ $(report_field "$r" .network.host_interface) =~ ^gb[0-9]+-[0-9]+$ ]]
    [ "$(report_field "$r" '.stages_ms.veth')" != null ]
}

@test "veth: the host end is gb<pid>-<n>, carries the host address, and is gone when gbox returns" {
    local pol
    pol=$(net_policy veth "$FIXED")
    gbox_bg --policy "$pol" --in-image probe sleep 30
    local pid=$! i
    for i in $(seq 300); do [ -n "$(host_links)" ] && break; sleep 0.01; done
    assert_equal "$(host_links)" "gb$pid-0"
    run ip -n "$NS" -o -4 addr show dev "gb$pid-0"
    assert_output --partial "inet 10.231.7.1/30"
    # IPv4 only: no IPv6 link-local address on the host end
    run ip -n "$NS" -o -6 addr show dev "gb$pid-0"
    assert_output ""
    kill -TERM "$pid"
    wait "$pid" || true
    assert_equal "$(host_links)" ""
}

# ---- egress allowlist -----------------------------------------------------------------------

@test "egress: an allowed tcp port connects; another port, another host, udp and icmp are refused" {
    local pol
    pol=$(net_policy egress "$FIXED, \"egress\": [{\"to\": \"10.231.7.1/32\", \"protocol\": \"tcp\", \"ports\": 8080}]")
    in_ns ip addr add 198.51.100.1/32 dev lo
    listen_tcp 8080
    listen_tcp 8081
    run gbox_ns --policy "$pol" --in-image sh -c '
        probe connect 10.231.7.1 8080; probe connect 10.231.7.1 8081; probe connect 198.51.100.1 8080
        probe connect 10.231.7.1 8080 udp; probe ping 10.231.7.1'
    assert_output "$(printf '%s\n' 'ok 0' 'errno EHOSTUNREACH 113' 'errno EHOSTUNREACH 113' 'errno EPERM 1' 'errno EPERM 1')"
}

@test "egress: udp port ranges and icmp rules" {
    local pol got=$BATS_TEST_TMPDIR/udp
    pol=$(net_policy egress "$FIXED, \"egress\": [{\"to\": \"10.231.7.0/30\", \"protocol\": \"udp\", \"ports\": \"5000-5010\"}, {\"to\": \"10.231.7.1/32\", \"protocol\": \"icmp\"}]")
    listen_udp 5005 "$got"
    run gbox_ns --policy "$pol" --in-image sh -c 'probe connect 10.231.7.1 5005 udp; probe connect 10.231.7.1 5011 udp; probe ping 10.231.7.1; probe connect 10.231.7.1 5005'
    assert_output "$(printf '%s\n' 'ok 0' 'errno EPERM 1' 'ok 0' 'errno EHOSTUNREACH 113')"
    local i
    for i in $(seq 100); do [ -s "$got" ] && break; sleep 0.01; done
    assert_equal "$(cat "$got")" x
}

@test "egress: seen from outside, the sandbox's namespace holds the chain gbox installed" {
    local pol pid init i
    pol=$(net_policy egress "$FIXED, \"egress\": [{\"to\": \"10.231.7.1/32\", \"protocol\": \"tcp\", \"ports\": \"8000-8099\"}]")
    gbox_bg --policy "$pol" --in-image probe sleep 30
    pid=$!
    for i in $(seq 300); do
        init=$(pgrep -P "$pid" | head -n 1)
        [ -n "$init" ] && [ -n "$(nsenter --net="/proc/$init/ns/net" nft list tables 2>/dev/null)" ] && break
        sleep 0.01
    done
    run nsenter --net="/proc/$init/ns/net" nft list chain inet gbox egress
    assert_success
    assert_line --partial "type filter hook output priority filter; policy drop;"
    assert_line --partial "ct state established,related accept"
    assert_line --partial 'oifname "lo" accept'
    assert_line --partial "ip daddr 10.231.7.1 tcp dport 8000-8099 accept"
    assert_line --partial "reject with icmpx admin-prohibited"
    # and gbox's own namespace has no nftables rules of gbox's
    run in_ns nft list tables
    assert_output ""
}

@test "egress: an empty allowlist lets nothing out, but replies to incoming connections and lo work" {
    local pol
    pol=$(net_policy egress "$FIXED, \"egress\": []")
    listen_tcp 8080
    gbox_bg --policy "$pol" --in-image sh -c '
        probe connect 10.231.7.1 8080
        probe listen 127.0.0.1 6000 >/tmp/l & until grep -qs listening /tmp/l; do sleep 0.01; done
        probe connect 127.0.0.1 6000; wait
        probe listen 10.231.7.2 5555'
    local i
    for i in $(seq 300); do grep -q 'listening 5555' "$BATS_TEST_TMPDIR/out" && break; sleep 0.01; done
    run in_ns socat -u /dev/null TCP:10.231.7.2:5555
    assert_success
    wait "${bg_pids[1]}"
    assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" "$(printf '%s\n' 'errno EHOSTUNREACH 113' 'ok 0' 'listening 5555' 'accepted')"
}

@test "egress: the program cannot flush the rules or take eth0 down (no CAP_NET_ADMIN), so they still hold" {
    local pol
    pol=$(net_policy egress "$FIXED, \"egress\": [{\"to\": \"10.231.7.1/32\", \"protocol\": \"tcp\", \"ports\": 8080}]")
    listen_tcp 8081
    run gbox_ns --policy "$pol" --in-image sh -c 'probe nft-flush; probe link-down eth0; probe unshare net; probe connect 10.231.7.1 8081'
    # nft-flush: base allows netlink only for NETLINK_ROUTE (nf_tables is NETLINK_NETFILTER)
    assert_output "$(printf '%s\n' 'errno EPROTONOSUPPORT 93' 'errno EPERM 1' 'errno EPERM 1' 'errno EHOSTUNREACH 113')"
}

@test "veth without egress: rule changes and raw and packet sockets are refused too" {
    local pol
    pol=$(net_policy veth "$FIXED")
    run gbox_ns --policy "$pol" --in-image sh -c 'probe nft-flush; probe link-down eth0; probe socket inet raw icmp; probe socket packet raw'
    # netfilter netlink and AF_PACKET are refused by base's socket rules before capabilities matter
    assert_output "$(printf '%s\n' 'errno EPROTONOSUPPORT 93' 'errno EPERM 1' 'errno EPERM 1' 'errno EAFNOSUPPORT 97')"
}

# ---- abstract unix sockets ------------------------------------------------------------------

@test "abstract unix sockets of the outside are unreachable from none, loopback and veth" {
    local name=gbox-test-$$-abstract mode
    nsenter --net="/run/netns/$NS" -- socat "ABSTRACT-LISTEN:$name,fork" SYSTEM:'echo hi' 3>&- &
    bg_pids+=($!)
    local i
    for i in $(seq 200); do in_ns socat -u /dev/null "ABSTRACT-CONNECT:$name" 2>/dev/null && break; sleep 0.01; done
    # the listener is there for its own namespace
    run in_ns socat -u /dev/null "ABSTRACT-CONNECT:$name"
    assert_success
    for mode in none loopback veth; do
        run gbox_ns --policy "$(net_policy "m$mode" "\"mode\": \"$mode\"")" --in-image probe unix-abstract "$name"
        assert_failure 1
        assert_output "errno ECONNREFUSED 111"
    done
}

# ---- host -----------------------------------------------------------------------------------

@test "host: the sandbox shares gbox's network namespace (its links, its listeners, its abstract sockets)" {
    local pol name=gbox-test-$$-host
    pol=$(net_policy host '"mode": "host", "allow_host_with_userns": true')
    dummy_link gbtestdummy
    listen_tcp 8080
    nsenter --net="/run/netns/$NS" -- socat "ABSTRACT-LISTEN:$name,fork" SYSTEM:'echo hi' 3>&- &
    bg_pids+=($!)
    run gbox_ns --policy "$pol" --in-image probe ifaces
    assert_success
    assert_line "gbtestdummy down"
    run gbox_ns --policy "$pol" --in-image sh -c "probe connect 127.0.0.1 8080; probe unix-abstract $name"
    assert_success
    assert_output "$(printf 'ok 0\nok 0')"
}

@test "host without a user namespace needs no extra field" {
    local pol
    pol=$(net_policy hostnouser '"mode": "host"' '"user": {"namespace": false}')
    dummy_link gbtestdummy
    run gbox_ns --policy "$pol" --in-image probe ifaces
    assert_success
    assert_line "gbtestdummy down"
}

# ---- cleanup and allocation -----------------------------------------------------------------

@test "no veth and no address record is left after 100 runs" {
    local pol i pids=()
    pol=$(net_policy veth '"mode": "veth"')
    for i in $(seq 100); do
        nsenter --net="/run/netns/$NS" -- "$GBOX" run --policy "$pol" --in-image true &
        pids+=($!)
        wait $! || fail "run $i failed"
    done
    assert_equal "$(host_links)" ""
    for i in "${pids[@]}"; do
        run grep -ls "^$i " /run/gbox/net/ -r
        assert_output ""
    done
}

@test "a setup failure after the veth exists (workdir is a file) leaves no veth and no record" {
    local pol
    pol=$(net_policy veth "$FIXED, \"egress\": []" '"interpreter": {"workdir": "/bin/sh"}')
    run --separate-stderr gbox_ns --policy "$pol" --in-image true
    assert_failure 125
    assert_equal "$stderr" "gbox: sandbox setup failed at cwd: chdir /bin/sh: Not a directory"
    assert_equal "$(host_links)" ""
    run grep -rl '10.231.7' /run/gbox/net/
    assert_output ""
    # the subnet is free again
    run gbox_ns --policy "$(net_policy again "$FIXED")" --in-image true
    assert_success
}

@test "a veth that cannot be created (its name taken) fails closed, naming the step, and deletes nothing of others" {
    local pol
    pol=$(net_policy veth "$FIXED")
    # gbox execs in place of this shell, so it gets the shell's pid and its first host end is gb<pid>-0
    run --separate-stderr in_ns sh -c 'ip link add "gb$$-0" type veth peer name "gb$$-0p" && exec "$0" run --policy "$1" --in-image true' "$GBOX" "$pol"
    assert_failure 125
    [[ $stderr =~ ^"gbox: network: veth: create gb"[0-9]+"-0 with its peer eth0 in the sandbox: Object exists"$ ]] ||
        fail "unexpected message: $stderr"
    [[ $(host_links) =~ ^gb[0-9]+-0$ ]] || fail "the dummy link was removed: $(host_links)"
    run grep -rl '10.231.7' /run/gbox/net/
    assert_output ""
}

@test "stale host ends of dead gbox processes are swept at the next veth start" {
    local dead
    sh -c 'exit 0' &
    dead=$!
    wait "$dead"
    dummy_link "gb$dead-3"
    dummy_link "gb1-3" # pid 1 is alive: not ours to touch
    run gbox_ns --policy "$(net_policy veth '"mode": "veth"')" --in-image true
    assert_success
    assert_equal "$(host_links)" "gb1-3"
}

@test "a SIGKILLed gbox leaves no veth behind and its subnet is reclaimed" {
    local pol pid i
    pol=$(net_policy veth "$FIXED")
    gbox_bg --policy "$pol" --in-image probe sleep 30
    pid=$!
    for i in $(seq 300); do [ -n "$(host_links)" ] && break; sleep 0.01; done
    [ -n "$(host_links)" ] || fail "no host end appeared"
    kill -KILL "$pid"
    wait "$pid" || true
    # the sandbox dies with gbox (PDEATHSIG), its namespace with it, and the pair with that
    for i in $(seq 300); do [ -z "$(host_links)" ] && break; sleep 0.01; done
    assert_equal "$(host_links)" ""
    remove_cgroups "$pid"
    # the record of the dead gbox is reclaimed: the same fixed subnet is free
    run gbox_ns --policy "$pol" --in-image true
    assert_success
}

@test "concurrent sandboxes from the pool get distinct subnets" {
    local pol i
    pol=$(net_policy veth '"mode": "veth"')
    for i in 1 2 3 4 5 6; do
        nsenter --net="/run/netns/$NS" -- "$GBOX" run --policy "$pol" --in-image sh -c 'probe ifaces; sleep 0.5' >"$BATS_TEST_TMPDIR/out.$i" 3>&- &
        bg_pids+=($!)
    done
    for i in "${bg_pids[@]}"; do wait "$i"; done
    bg_pids=()
    run sh -c "grep -h '^eth0 [0-9]' $BATS_TEST_TMPDIR/out.* | sort | uniq -d"
    assert_output ""
    assert_equal "$(grep -h '^eth0 [0-9]' "$BATS_TEST_TMPDIR"/out.* | wc -l)" 6
}

@test "a fixed subnet held by a running sandbox is refused to a second one" {
    local pol pid i
    pol=$(net_policy veth "$FIXED")
    gbox_bg --policy "$pol" --in-image probe sleep 30
    pid=$!
    for i in $(seq 300); do [ -n "$(host_links)" ] && break; sleep 0.01; done
    run --separate-stderr gbox_ns --policy "$pol" --in-image true
    assert_failure 125
    assert_equal "$stderr" "gbox: $pol: network.address: subnet 10.231.7.0/30 is in use by the sandbox of gbox pid $pid (10.231.7.0/30)"
}
