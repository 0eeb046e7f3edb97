# The SMP Linux guest (tests/guest/linux-smp*.test): every CPU up, guest
# atomics exact when all CPUs hammer the same counters, CPU-bound threads on
# every CPU at once, a stable clocksource (the TSCs agree across CPUs).
set -e
echo "cpus: $(nproc) online $(cat /sys/devices/system/cpu/online)"
echo "cpuinfo: $(grep -c '^processor' /proc/cpuinfo) processors, apicids $(grep '^apicid' /proc/cpuinfo | cut -d: -f2 | tr -d ' ' | tr '\n' ' ')"
/x86v/smp-counter 100000
/x86v/smp-counter --spin 3000000
bad=$(dmesg | grep -ciE 'ACPI( BIOS)? (Error|Warning)|unexpected (irq|IRQ)|spurious|clocksource.*unstable|TSC.*unstable|Call Trace|Firmware Bug|stuck' || true)
echo "dmesg problems: $bad"
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
case "$cs" in tsc) echo "clocksource: ok" ;; *) echo "clocksource: $cs" ;; esac
