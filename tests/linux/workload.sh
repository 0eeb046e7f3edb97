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
echo "mem: $(grep -c . /proc/meminfo) lines, $(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2-) total"
