# make bench's Linux workload (bench/run.py): markers on the serial line let the
# host time each phase. Same script under x86v and under QEMU.
echo "bench: init"
dd if=/dev/zero bs=1048576 count=32 2>/dev/null | sha256sum > /dev/null
echo "bench: sha256 done"
i=0
while [ $i -lt 200000 ]; do i=$((i + 1)); done
echo "bench: loop done"
