# The Linux guest workload of `make check` (tests/guest/linux-workload.test):
# CPU features, hashing, shell arithmetic, tmpfs files, floating point.
set -e
echo "cpu: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for f in fpu pae apic cx8 cmov pat sse sse2 ssse3 sse4_1 sse4_2 popcnt xsave nx lm syscall bmi1 bmi2 adx; do
	grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -qx "$f" || { echo "missing cpu flag $f"; exit 1; }
done
echo "cpu flags: ok"
echo "sha256: $(seq 1 200000 | sha256sum | cut -d' ' -f1)"
echo "md5: $(seq 1 200000 | md5sum | cut -d' ' -f1)"
i=0
s=0
while [ $i -lt 20000 ]; do
	i=$((i + 1))
	s=$((s + i * i % 7))
done
echo "loop: $i $s"
mkdir -p /tmp/t
for n in 1 2 3 4 5; do
	seq 1 $((n * 1000)) > /tmp/t/f$n
done
cat /tmp/t/f* | wc -l
echo "files: $(ls /tmp/t | tr '\n' ' ')"
# busybox awk has floating point but no math library: Newton's method for sqrt(2).
awk 'BEGIN { x = 0; for (i = 1; i <= 10000; i++) x += 1 / i; printf "harmonic: %.9f\n", x;
	r = 1; for (i = 0; i < 30; i++) r = (r + 2 / r) / 2; printf "sqrt2: %.12f\n", r }'
# -m 512M: what the kernel reports is RAM less its own image and reservations.
kb=$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)
if [ "$kb" -gt 400000 ] && [ "$kb" -le 524288 ]; then echo "mem: ok"; else echo "mem: $kb kB"; fi
echo "cpus: $(nproc)"
# The machine as Linux sees it: no ACPI errors, no stray interrupts, a stable
# clocksource, and the RTC's time within minutes of the host's (the driver
# passes the host's time as x86v.hosttime=).
bad=$(dmesg | grep -ciE 'ACPI( BIOS)? (Error|Warning)|unexpected (irq|IRQ)|spurious|clocksource.*unstable|Call Trace' || true)
echo "dmesg problems: $bad"
cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)
case "$cs" in tsc|acpi_pm) echo "clocksource: ok" ;; *) echo "clocksource: $cs" ;; esac
host=$(tr ' ' '\n' < /proc/cmdline | sed -n 's/^x86v.hosttime=//p')
drift=$(( $(date +%s) - ${host:-0} ))
if [ "$drift" -ge -5 ] && [ "$drift" -le 900 ]; then echo "rtc: ok"; else echo "rtc: off by $drift s"; fi
