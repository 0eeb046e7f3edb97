# virtio-net (tests/guest/linux-virtio-net*.test, driven by tests/linux/net_driver.py):
# an address (DHCP from slirp, or x86v.addr=), a download from the host's HTTP server
# (x86v.http=HOST:PORT, hash x86v.blobsha=), and a connection from the host (through
# slirp's hostfwd, or straight to the guest on TAP) to port 8080.
set -u
fail() { echo "net: $*"; exit 1; }
arg() { sed -n "s/.*x86v\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
for m in virtio_pci virtio_net; do modprobe $m || fail "modprobe $m"; done
ip link set lo up
ip link set eth0 up || fail "no eth0"
[ "$(cat /sys/class/net/eth0/address)" = "$(arg mac)" ] || fail "MAC $(cat /sys/class/net/eth0/address)"

if [ -n "$(arg addr)" ]; then # a static address (TAP: the host's side is 192.168.77.1)
	ip addr add "$(arg addr)" dev eth0 || fail "ip addr add $(arg addr)"
else # DHCP from slirp
	cat > /tmp/dhcp.sh <<'S'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/$mask" dev "$interface"
ip route add default via "$router"
S
	chmod +x /tmp/dhcp.sh
	udhcpc -i eth0 -n -q -t 5 -s /tmp/dhcp.sh >/tmp/dhcp.log 2>&1 || fail "no DHCP lease: $(cat /tmp/dhcp.log)"
	ip addr show eth0 | grep -q "inet 10.0.2.15/24" || fail "address: $(ip addr show eth0)"
fi

# The guest reaches the host's HTTP server (through the NAT, 10.0.2.2 being the host),
# except with restrict=on (x86v.restricted=1), where nothing outside is reachable.
if [ -n "$(arg restricted)" ]; then
	wget -q -T 3 -O /tmp/blob "http://$(arg http)/blob" 2>/dev/null && fail "restrict=on: the host was reachable"
	echo "net: the host is out of reach"
	wget -q -O /tmp/blob "http://$(arg fwd)/blob" || fail "wget http://$(arg fwd)/blob (guestfwd)"
	sum=$(sha256sum /tmp/blob | cut -d' ' -f1)
	[ "$sum" = "$(arg blobsha)" ] || fail "the download's sha256 is $sum"
	echo "net: download through guestfwd ok ($(wc -c < /tmp/blob) bytes)"
else
	wget -q -O /tmp/blob "http://$(arg http)/blob" || fail "wget http://$(arg http)/blob"
	sum=$(sha256sum /tmp/blob | cut -d' ' -f1)
	[ "$sum" = "$(arg blobsha)" ] || fail "the download's sha256 is $sum"
	echo "net: download ok ($(wc -c < /tmp/blob) bytes)"
fi

# The host reaches the guest: a line in, "pong LINE" out.
cat > /tmp/pong.sh <<'S'
#!/bin/sh
read -r line
echo "pong $line"
S
chmod +x /tmp/pong.sh
nc -l -p 8080 -e /tmp/pong.sh &
pid=$!
sleep 1
echo "net: listening"
wait $pid || fail "nc ended with status $?"

grep -q "input.0" /proc/interrupts || fail "no virtio-net interrupt: $(cat /proc/interrupts)"
echo "net: ok"
