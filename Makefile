# gomemscope — see README.md. Every target installs what it needs first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all deps toolchains build build-only test test-fast test-suite test-asan test-asan-only \
        test-fuzz fuzz fuzz-ci fuzz-ci-only demo bench bench-quick format clean

all: build

deps:
	@scripts/install-deps.sh

# Go 1.27.3, fetched by the go command itself (GOTOOLCHAIN), for the fixtures.
toolchains:
	@scripts/go-toolchains.sh

build: deps build-only

build-only:
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ninja -C $(BUILD)

# The full test run CI does (scripts/test-all.sh, with a timing summary): the
# suite, the parser and decoder tests again under ASan+UBSan, then every fuzz
# target for 60 s (clang, libFuzzer, ASan+UBSan).
test:
	@scripts/test-all.sh

test-fast: build toolchains test-suite

test-suite:
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# ASan+UBSan: one clang tree (-O1, the Sanitize build type) that also carries
# libFuzzer's coverage instrumentation, so the fuzz targets come from it too.
# The suite runs again in it except what exercises no code of ours twice
# (ASAN_SKIP, docs/testing.md says what covers each instead).
ASAN_CMAKE = CC=clang CXX=clang++ cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Sanitize \
             -DGMS_FUZZ=ON -DGMS_BUILD_TESTS=ON
ASAN_SKIP  = KillAtRandom.*_KILL_|MapAllocTruth|DiagnoseCli|Examples\.
test-asan: deps test-asan-only

test-asan-only:
	@$(ASAN_CMAKE) >/dev/null
	@ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS) -E '$(ASAN_SKIP)'

# Fuzzing (docs/fuzzing.md): every libFuzzer target for FUZZ_SECONDS each on its
# committed corpus (fuzz/corpus/), built with clang into build-fuzz.
FUZZ_SECONDS ?= 600
FUZZ_JOBS    ?= 1
fuzz: deps
	fuzz/run.sh --seconds $(FUZZ_SECONDS) --jobs $(FUZZ_JOBS)

# The brief run CI affords: 60 s per target (9 targets, two at a time), built
# in the ASan test tree.
fuzz-ci: deps fuzz-ci-only

fuzz-ci-only:
	FUZZ_BUILD=$(ASAN_BUILD) FUZZ_BUILD_TYPE=Sanitize FUZZ_BUILD_TESTS=ON fuzz/run.sh --seconds 60 --jobs 2

test-fuzz: fuzz-ci

demo: build
	@scripts/demo.sh $(BUILD)/gomemscope

# The full benchmark matrix (bench/matrix.sh -> bench/results.md), the
# Google Benchmark micro-benchmarks, stripped against DWARF builds
# (bench/stripped.sh -> bench/results-stripped.md) and the whole heap from a
# core beside goref and viewcore when on PATH (bench/heap.sh ->
# bench/results-heap.md); bench-quick: the 10^6-entry headline only.
bench: deps
	@scripts/install-deps.sh delve bc time gdb python3
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGMS_BUILD_BENCH=ON >/dev/null
	@ninja -C $(BUILD)
	bench/matrix.sh $(BUILD)/gomemscope $(BUILD)/bench
	bench/stripped.sh $(BUILD)/gomemscope
	bench/heap.sh $(BUILD)/gomemscope

bench-quick: build
	@scripts/install-deps.sh delve bc
	bench/decode_vs_delve.sh $(BUILD)/gomemscope

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz build-fixtures
