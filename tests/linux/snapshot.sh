# A workload that a snapshot cuts in two (tests/guest/linux-snapshot.test): numbered
# steps carrying a running hash through shell variables, sleeps (timers), then a hash
# of generated data. The output is the same however the run is cut.
echo "workload: start"
i=0
h=7
while [ $i -lt 40 ]; do
	i=$((i + 1))
	h=$(((h * 31 + i) % 1000003))
	echo "step $i $h"
	sleep 0.05
done
echo "sha256: $(seq 1 100000 | sha256sum | cut -d' ' -f1)"
echo "workload: done"
