# virtio-blk (tests/guest/linux-virtio-blk*.test): vda is a 64 MiB image of
# zeros, read-write; vdb a 1 MiB one, read-only. Checks the sizes, the serial,
# that written data reaches the image and reads back (after dropping the page
# cache), discards and flushes, that vdb refuses writes, and which interrupts
# the driver uses: MSI-X, or the IOAPIC line with pci=nomsi. With --rng
# (x86v.rng=1), also that /dev/hwrng is virtio-rng and reads.
set -u
fail() { echo "virtio-blk: $*"; exit 1; }
for m in virtio_pci virtio_blk; do modprobe $m 2>/dev/null; done
i=0
while [ ! -b /dev/vdb ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda ] && [ -b /dev/vdb ] || fail "no /dev/vda and /dev/vdb"
[ "$(cat /sys/block/vda/size)" = 131072 ] || fail "vda size $(cat /sys/block/vda/size)"
[ "$(cat /sys/block/vdb/size)" = 2048 ] || fail "vdb size $(cat /sys/block/vdb/size)"
[ "$(cat /sys/block/vda/serial)" = x86v-vda ] || fail "vda serial $(cat /sys/block/vda/serial)"
[ "$(cat /sys/block/vda/ro)" = 0 ] && [ "$(cat /sys/block/vdb/ro)" = 1 ] || fail "read-only flags"
[ "$(head -c 1048576 /dev/vda | sha256sum | cut -d' ' -f1)" = \
  30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58 ] || fail "vda does not read as zeros"
seq 1 200000 > /tmp/data
dd if=/tmp/data of=/dev/vda bs=4096 seek=256 conv=fsync 2>/dev/null || fail "write"
sync
echo 3 > /proc/sys/vm/drop_caches
n=$(wc -c < /tmp/data)
dd if=/dev/vda bs=4096 skip=256 2>/dev/null | head -c "$n" | cmp -s - /tmp/data || fail "read back"
blkdiscard -o 8388608 -l 1048576 /dev/vda || fail "discard"
dd if=/tmp/data of=/dev/vdb bs=4096 count=1 conv=fsync 2>/dev/null && fail "vdb accepted a write"
if grep -q pci=nomsi /proc/cmdline; then
	grep -q 'IO-APIC.*virtio[0-9]' /proc/interrupts || fail "no IOAPIC interrupt: $(grep virtio /proc/interrupts)"
else
	grep -q 'PCI-MSI.*virtio[0-9]-req.0' /proc/interrupts || fail "no MSI-X interrupt: $(grep virtio /proc/interrupts)"
fi
if grep -q x86v.rng=1 /proc/cmdline; then
	modprobe virtio_rng 2>/dev/null
	[ "$(cat /sys/class/misc/hw_random/rng_current)" = virtio_rng.0 ] || fail "hwrng: $(cat /sys/class/misc/hw_random/rng_current)"
	[ "$(head -c 65536 /dev/hwrng | wc -c)" = 65536 ] || fail "short read from /dev/hwrng"
	head -c 4096 /dev/hwrng > /tmp/r1
	head -c 4096 /dev/hwrng > /tmp/r2
	cmp -s /tmp/r1 /tmp/r2 && fail "/dev/hwrng repeats itself"
fi
echo "virtio-blk: ok"
