# Thin wrapper over Meson + Ninja. `make check` and `make run` install what
# they need (scripts/bootstrap), configure, build and run.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# The unit tests of the concurrent parts, also run under ThreadSanitizer.
TSAN_TESTS ?= tests/unit/test_soft_smp
NINJA ?= ninja
FLAVOUR ?= cloud

.PHONY: all deps check run run-debian bench clean guest fuzz

all: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

deps:
	@scripts/bootstrap

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja: | deps
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

$(TSAN_BUILD)/build.ninja: | deps
	meson setup $(TSAN_BUILD) -Db_sanitize=thread -Db_lundef=false -Dc_args=-Wno-tsan

# The Linux tests need the guest images; if they cannot be built (no access to
# Debian's archive) those tests report themselves skipped with the reason.
check: deps $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja $(TSAN_BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	$(NINJA) -C $(ASAN_BUILD)
	$(NINJA) -C $(TSAN_BUILD) $(TSAN_TESTS)
	scripts/mkguest --flavour cloud || echo "make check: guest images not built; the Linux tests will be skipped"
	scripts/mkrootfs || echo "make check: the Debian disk image not built; its test will be skipped"
	python3 tests/run.py --build $(BUILD) --asan-build $(ASAN_BUILD) --tsan-build $(TSAN_BUILD)

# Boots Debian's kernel to an interactive busybox shell on the soft engine.
# Ctrl-A x quits; `poweroff` in the guest ends x86v with status 0.
RUN_APPEND ?= console=ttyS0 quiet
run: all guest
	$(BUILD)/x86v run --accel soft -m 512M --kernel guest-images/$(FLAVOUR)/bzImage \
		--initrd guest-images/$(FLAVOUR)/initramfs.cpio.gz --append "$(RUN_APPEND)"

# A Debian 12 system (systemd, sshd) on a disk image (scripts/mkrootfs, cached in
# guest-images/rootfs/), booted on the soft engine from a copy of the image: a login
# prompt on the console (root, no password), and ssh -p 2222 -i
# guest-images/rootfs/id_ed25519 root@127.0.0.1 from the host.
run-debian: all
	scripts/mkrootfs
	cp --sparse=always guest-images/rootfs/disk.img guest-images/rootfs/run.img
	$(BUILD)/x86v run --accel soft -m 1G --kernel guest-images/rootfs/vmlinuz \
		--initrd guest-images/rootfs/initrd.img --append "root=/dev/vda rw console=ttyS0" \
		--drive file=guest-images/rootfs/run.img --net user,hostfwd=tcp:127.0.0.1:2222-:22

# The Linux guest images (kernel + busybox initramfs) under guest-images/;
# cached, rebuilt only when missing or when scripts/mkguest or
# scripts/guest-init changed. FLAVOUR=generic for linux-image-amd64.
guest:
	scripts/mkguest --flavour $(FLAVOUR)

# Every fuzz target (ASan+UBSan build) for FUZZ_TIME seconds in all (default 600).
fuzz: deps $(ASAN_BUILD)/build.ninja
	$(NINJA) -C $(ASAN_BUILD)
	scripts/fuzz $(ASAN_BUILD)

bench: all
	@scripts/bootstrap --bench
	python3 bench/run.py --build $(BUILD) $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
