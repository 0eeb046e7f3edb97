# The guest of tests/guest/api-firecracker.test (two vCPUs): reads the drive
# the API configured, then runs numbered steps that a snapshot taken through
# the API cuts in two (the same output however it is cut), then a task on each
# CPU.
for m in virtio_pci virtio_blk; do modprobe $m 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "drive: $(head -c 14 /dev/vda)"
echo "workload: start"
i=0
h=7
while [ $i -lt 30 ]; do
	i=$((i + 1))
	h=$(((h * 31 + i) % 1000003))
	echo "step $i $h"
	sleep 0.05
done
echo "workload: $(nproc) CPUs online"
for c in 0 1; do echo "workload: a task on CPU $(taskset -c $c awk '{ print $39 }' /proc/self/stat)"; done
echo "workload: done"
