# GDB session with a hardware breakpoint (no INT3, no watchpoint): what kvm_pvm hosts can run.
# tests/gdb/gdb_driver.py substitutes {port}; multiboot.expect lists what the
# output must contain, in order.
set pagination off
set confirm off
set width 0
target remote 127.0.0.1:{port}
echo == start\n
info registers eip
echo == breakpoint\n
hbreak puts32
continue
echo == registers\n
p/x $esp
set $ecx = 0x1234abcd
p/x $ecx
echo == step\n
stepi
p/x $pc
echo == memory\n
x/wx &data_word
set {int}&ram_low = 0x77
x/wx &ram_low
echo == monitor\n
monitor cr
echo == exit\n
delete
continue
