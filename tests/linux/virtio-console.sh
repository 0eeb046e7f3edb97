# virtio-console (tests/guest/linux-virtio-console.test): hvc0 carries output
# to the terminal and input from it (the driver types "ping" after "hvc0: ready").
set -u
fail() { echo "console: $*"; exit 1; }
for m in virtio_pci virtio_console; do modprobe $m 2>/dev/null; done
i=0
while [ ! -c /dev/hvc0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -c /dev/hvc0 ] || fail "no /dev/hvc0"
exec 3<>/dev/hvc0
stty -echo <&3 2>/dev/null
echo "hvc0: ready" >&3
read -r line <&3 || fail "no input on hvc0"
echo "hvc0 got: $line" >&3
exec 3>&-
echo "console: ok"
