# virtio-net on user-mode networking (tests/guest/linux-virtio-net*.test, driven by
# tests/linux/net_driver.py): DHCP, a download from the host's HTTP server through
# the NAT, and a connection from the host through a hostfwd.
set -u
fail() { echo "net: $*"; exit 1; }
arg() { sed -n "s/.*x86v\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
for m in virtio_pci virtio_net; do modprobe $m || fail "modprobe $m"; done
ip link set lo up
ip link set eth0 up || fail "no eth0"
[ "$(cat /sys/class/net/eth0/address)" = "$(arg mac)" ] || fail "MAC $(cat /sys/class/net/eth0/address)"

cat > /tmp/dhcp.sh <<'S'
#!/bin/sh
[ "$1" = bound ] || exit 0
ip addr add "$ip/$mask" dev "$interface"
ip route add default via "$router"
echo "net: lease $ip router $router dns $dns"
S
chmod +x /tmp/dhcp.sh
udhcpc -i eth0 -n -q -t 5 -s /tmp/dhcp.sh >/tmp/dhcp.log 2>&1 || fail "no DHCP lease: $(cat /tmp/dhcp.log)"
ip addr show eth0 | grep -q "inet 10.0.2.15/24" || fail "address: $(ip addr show eth0)"

# The guest reaches the host's HTTP server through the NAT (10.0.2.2 is the host).
wget -q -O /tmp/blob "http://$(arg http)/blob" || fail "wget http://$(arg http)/blob"
sum=$(sha256sum /tmp/blob | cut -d' ' -f1)
[ "$sum" = "$(arg blobsha)" ] || fail "the download's sha256 is $sum"
echo "net: download ok ($(wc -c < /tmp/blob) bytes)"

# The host reaches the guest through hostfwd: a line in, "pong LINE" out.
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
