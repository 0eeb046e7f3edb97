# An ext4 disk (tests/guest/linux-virtio-ext4*.test, made on the host by
# tests/linux/disk_driver.py): mount it, check the files against the host's
# hashes, write /written.txt and sync. Then unmount and power off, or, with
# x86v.kill=1 on the command line, say "ext4: synced" and wait to be killed.
set -u
fail() { echo "ext4: $*"; exit 1; }
for m in virtio_pci virtio_blk ext4; do modprobe $m 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt || fail "mount"
(cd /mnt && sha256sum -c -s SHA256SUMS) || fail "the host's files do not match their hashes"
[ "$(cat /mnt/hello.txt)" = "hello from the host" ] || fail "hello.txt"
seq 1 100000 > /mnt/written.txt
sync
if grep -q x86v.kill=1 /proc/cmdline; then
	echo "ext4: synced"
	sleep 600
fi
umount /mnt || fail "umount"
echo "ext4: ok"
