# make bench's SMP section (bench/run.py): two independent CPU-bound loops
# (tests/linux/smp_counter.c --bench), timed inside the guest; the host runs
# the guest with one vCPU and with two. Same script under x86v and QEMU.
/x86v/smp-counter --bench 200000000 2
