# make bench's virtio I/O workload (bench/run.py): the same script under x86v and
# QEMU TCG, each with a 1 GiB raw disk (vda) and user-mode networking; markers on
# the serial line let the host time each phase. x86v.netport= is the port of the
# host's sink on 127.0.0.1 (10.0.2.2 from the guest).
port=$(sed -n 's/.*x86v\.netport=\([0-9]*\).*/\1/p' /proc/cmdline)
for m in virtio_pci virtio_blk virtio_net; do modprobe $m; done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
echo "bench: io begin"
dd if=/dev/zero of=/dev/vda bs=1M count=1024 oflag=direct 2>/dev/null
echo "bench: write done"
dd if=/dev/vda of=/dev/null bs=1M count=1024 iflag=direct 2>/dev/null
echo "bench: read done"
/x86v/randread /dev/vda 20000
echo "bench: randread done"
dd if=/dev/zero bs=65536 count=2048 2>/dev/null | nc 10.0.2.2 "$port"
echo "bench: net done"
