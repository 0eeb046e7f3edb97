# GDB session against guests/gdb-smp.elf with two vCPUs (--smp 2), started
# with -S: the threads, a breakpoint the AP hits, the BSP's registers, steps
# with scheduler locking (the other vCPU stays stopped) and without, continue
# to the guest's exit. Hardware breakpoints only (what kvm_pvm hosts run).
# tests/gdb/gdb_driver.py substitutes {port}; smp.expect lists what the
# output must contain, in order.
set pagination off
set confirm off
set width 0
target remote 127.0.0.1:{port}
echo == threads\n
info threads
echo == ap breakpoint\n
hbreak ap_loop
continue
info threads
p $_thread
echo == bsp\n
thread 1
p $_thread
info registers eip
p $pc != ap_loop
echo == locked step\n
set scheduler-locking on
set $ap = *(int *)&ap_count
stepi
p *(int *)&ap_count - $ap
thread 2
set $bsp = *(int *)&bsp_count
stepi
p/x $pc
p *(int *)&ap_count - $ap
p *(int *)&bsp_count - $bsp
echo == unlocked\n
set scheduler-locking off
stepi
continue
p $_thread
echo == exit\n
delete
continue
