# Entry points for people and CI; CMake does the building.
#   make          build build/mfb and build/mfb-server
#   make check    install missing packages, build with -Werror, run every test
#   make check-sanitize   the same suite under ASan+UBSan (build-asan/)
#   make check-tsan       the threaded unit tests under ThreadSanitizer (build-tsan/)
#   make bench    benchmarks against zip, pigz, igzip, curl
#   make demo     a one-command tour
#   make demo-ui  a daemon with the web UI over a throwaway MariaDB; prints its address
#   make format   clang-format every C file
#   make install  install the programs and systemd units (PREFIX, DESTDIR)
#   make deb      Debian packages mfb and mfb-server, into build-deb/
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?= --output-on-failure

.PHONY: all build deps check check-sanitize check-tsan bench demo demo-ui format fuzz clean install deb

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

demo-ui: deps build
	/usr/bin/python3 scripts/demo-ui

# Installation is done here, not with CMake install() rules, so that one
# recipe serves a hand install and the Debian packages (debian/rules). The
# units in packaging/systemd name /usr/bin; another PREFIX is written into
# the installed copies. BUILDDIR is where the programs were built.
PREFIX ?= /usr/local
DESTDIR ?=
BUILDDIR ?= build
BINDIR = $(PREFIX)/bin
ifeq ($(PREFIX),/usr)
UNITDIR ?= /lib/systemd/system
else
UNITDIR ?= $(PREFIX)/lib/systemd/system
endif
STATEDIR ?= /var/lib/mfb

install:
	@test -x $(BUILDDIR)/mfb -a -x $(BUILDDIR)/mfb-server || { echo "install: build first (make)" >&2; exit 1; }
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BUILDDIR)/mfb $(BUILDDIR)/mfb-server $(DESTDIR)$(BINDIR)/
	for u in mfb mfb-server; do \
	  sed 's|/usr/bin/|$(BINDIR)/|' packaging/systemd/$$u.service > $(DESTDIR)$(UNITDIR)/$$u.service.tmp && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.service.tmp && \
	  mv $(DESTDIR)$(UNITDIR)/$$u.service.tmp $(DESTDIR)$(UNITDIR)/$$u.service || exit 1; \
	done
	install -d -m 0700 $(DESTDIR)$(STATEDIR)

# Binary packages only, from a copy of the tree in build-deb/ so that
# dpkg-buildpackage's output (written to the parent of the tree it builds)
# lands in build-deb/ too. The version is CMakeLists.txt's, checked against
# debian/changelog. The package build runs no tests (debian/rules).
VERSION = $(shell sed -n '/^project.mfb /s/.*VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
deb:
	@grep -q '^mfb ($(VERSION))' debian/changelog || \
	  { echo "deb: debian/changelog does not start at version $(VERSION) (CMakeLists.txt)" >&2; exit 1; }
	rm -rf build-deb && mkdir -p build-deb/mfb-$(VERSION)
	if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git ls-files -z -co --exclude-standard | tar --null -T - -cf - | tar -C build-deb/mfb-$(VERSION) -xf -; \
	else \
	  tar --exclude=./build --exclude='./build-*' --exclude=./bench/data --exclude=./bench/out -cf - . | \
	    tar -C build-deb/mfb-$(VERSION) -xf -; \
	fi
	cd build-deb/mfb-$(VERSION) && DEB_BUILD_OPTIONS="nocheck parallel=$(JOBS) $(DEB_BUILD_OPTIONS)" dpkg-buildpackage -us -uc -b
	@ls build-deb/*.deb

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-asan build-tsan build-fuzz build-deb
