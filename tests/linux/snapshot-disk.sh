# A disk workload that a snapshot cuts in two (tests/guest/linux-snapshot-virtio-packed.test):
# each step writes a sector of vda with O_DIRECT and reads back every sector written so far,
# so requests are on the virtqueue around the cut. The output is the same however it is cut.
for m in virtio_pci virtio_blk; do modprobe $m 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "workload: start"
i=0
while [ $i -lt 30 ]; do
	i=$((i + 1))
	echo "sector $i" | dd of=/dev/vda bs=512 seek=$i conv=sync oflag=direct 2>/dev/null
	h=$(dd if=/dev/vda bs=512 skip=1 count=$i iflag=direct 2>/dev/null | md5sum | cut -c1-12)
	echo "step $i $h"
	sleep 0.05
done
echo "workload: done"
