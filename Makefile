# Thin wrapper over Meson + Ninja. `make check` and `make run` install what
# they need (scripts/bootstrap), configure, build and run.
BUILD ?= build
ASAN_BUILD ?= build-asan
NINJA ?= ninja
FLAVOUR ?= cloud

.PHONY: all deps check run bench clean guest fuzz

all: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

deps:
	@scripts/bootstrap

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja: | deps
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

# The Linux tests need the guest images; if they cannot be built (no access to
# Debian's archive) those tests report themselves skipped with the reason.
check: deps $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	$(NINJA) -C $(ASAN_BUILD)
	scripts/mkguest --flavour cloud || echo "make check: guest images not built; the Linux tests will be skipped"
	python3 tests/run.py --build $(BUILD) --asan-build $(ASAN_BUILD)

# Boots Debian's kernel to an interactive busybox shell on the soft engine.
# Ctrl-A x quits; `poweroff` in the guest ends x86v with status 0.
RUN_APPEND ?= console=ttyS0 quiet
run: all guest
	$(BUILD)/x86v run --accel soft -m 512M --kernel guest-images/$(FLAVOUR)/bzImage \
		--initrd guest-images/$(FLAVOUR)/initramfs.cpio.gz --append "$(RUN_APPEND)"

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
	python3 bench/run.py --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
