# Thin wrapper over Meson + Ninja. `make check` and `make run` install what
# they need (scripts/bootstrap), configure, build and run.
BUILD ?= build
ASAN_BUILD ?= build-asan
NINJA ?= ninja

.PHONY: all deps check run bench clean

all: $(BUILD)/build.ninja
	$(NINJA) -C $(BUILD)

deps:
	@scripts/bootstrap

$(BUILD)/build.ninja: | deps
	meson setup $(BUILD)

$(ASAN_BUILD)/build.ninja: | deps
	meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined -Db_lundef=false

check: deps $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja
	$(NINJA) -C $(BUILD)
	$(NINJA) -C $(ASAN_BUILD)
	python3 tests/run.py --build $(BUILD) --asan-build $(ASAN_BUILD)

run: all
	$(BUILD)/x86v run --accel kvm --bios $(BUILD)/guests/hello-rom.bin

bench: all
	@scripts/bootstrap --bench
	python3 bench/run.py --build $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
