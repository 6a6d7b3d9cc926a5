# Entry points for people and CI; CMake does the building.
#   make          build build/mfb and build/mfb-server
#   make check    install missing packages, build with -Werror, run every test
#   make check-sanitize   the same suite under ASan+UBSan (build-asan/)
#   make check-tsan       the threaded unit tests under ThreadSanitizer (build-tsan/)
#   make bench    benchmarks against zip, pigz, igzip, curl
#   make demo     a one-command tour
#   make format   clang-format every C file
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure

.PHONY: all build deps check check-sanitize check-tsan bench demo format fuzz clean

all: build

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)

deps:
	scripts/install-deps

check: deps build
	ctest --test-dir build -j $(JOBS) $(CTEST_FLAGS)

check-sanitize: deps
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DMFB_SANITIZE=ON >/dev/null
	cmake --build build-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-asan -j $(JOBS) $(CTEST_FLAGS)

check-tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DMFB_TSAN=ON >/dev/null
	cmake --build build-tsan -j $(JOBS)
	TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan -L unit $(CTEST_FLAGS)

fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DMFB_FUZZ=ON -DMFB_SANITIZE=ON >/dev/null
	cmake --build build-fuzz -j $(JOBS)

bench: deps build
	bench/run-all.sh

demo: deps build
	scripts/demo

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-tsan build-fuzz
