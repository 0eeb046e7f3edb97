# The guest clocks agree (tests/guest/linux-clock.test): booted with a stock
# command line, the kernel takes the TSC's frequency from CPUID, keeps the TSC
# as its clocksource and never calls it unstable.
dmesg | grep -i -A4 'clocksource.*unstable' && exit 1
grep -q 'tsc: Detected 2000.000 MHz' /dev/kmsg 2>/dev/null || dmesg | grep -q 'tsc: Detected 2000.000 MHz' || { echo "tsc frequency not from CPUID"; exit 1; }
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
[ "$cs" = tsc ] || { echo "clocksource: $cs"; exit 1; }
echo "clock: ok"
