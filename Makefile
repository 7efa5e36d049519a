# gomemscope — see README.md. Every target installs what it needs first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all deps build test test-fast test-asan test-fuzz fuzz fuzz-ci demo bench bench-quick format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ninja -C $(BUILD)

# The full test run CI does: the suite, then the suite again under ASan+UBSan,
# then every fuzz target for 60 s (clang, libFuzzer, ASan+UBSan).
test: test-fast test-asan test-fuzz

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGMS_SANITIZE=ON >/dev/null
	@ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# Fuzzing (docs/fuzzing.md): every libFuzzer target for FUZZ_SECONDS each on its
# committed corpus (fuzz/corpus/), built with clang into build-fuzz.
FUZZ_SECONDS ?= 600
FUZZ_JOBS    ?= 1
fuzz: deps
	fuzz/run.sh --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS)

# The brief run CI affords: 60 s per target (7 targets, two at a time).
fuzz-ci: deps
	fuzz/run.sh --seconds 60 --jobs 2

test-fuzz: fuzz-ci

demo: build
	@scripts/demo.sh $(BUILD)/gomemscope

# The full benchmark matrix (bench/matrix.sh -> bench/results.md) and the
# Google Benchmark micro-benchmarks; bench-quick: the 10^6-entry headline only.
bench: deps
	@scripts/install-deps.sh delve bc time gdb python3
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGMS_BUILD_BENCH=ON >/dev/null
	@ninja -C $(BUILD)
	bench/matrix.sh $(BUILD)/gomemscope $(BUILD)/bench

bench-quick: build
	@scripts/install-deps.sh delve bc
	bench/decode_vs_delve.sh $(BUILD)/gomemscope

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
