# memray: one Makefile for the whole tree. See README.md.
#
#   make            build build/memray and build/libmemray_tracker.so
#   make test       unit tests (Check) and end-to-end tests (pytest)
#   make deps       install every build and test dependency (apt-get, root)
#   make deps-build only the missing packages a build needs (github-action/action.yml)
#   make demo       build and profile the bundled example (tests/fixtures/example.c)
#   make bench      overhead against the plain program and heaptrack
#   make sanitize   ASan+UBSan rebuild of the tools and unit tests, then run them
#   make install    PREFIX=/usr/local by default; DESTDIR honoured
#   make fuzz       libFuzzer on the capture reader (FUZZ_SECONDS=20)
#   make check-style
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS are honoured; DEVELOPER=1 adds -Werror (make test
# always does). make check-style: trailing white space, the layers, file and function sizes.

SHELL = /bin/bash
CC ?= cc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PYTHON ?= /usr/bin/python3
# where `python3 -m memray` is installed: the interpreter's dist-packages under PREFIX
VERSION := $(shell sed -n 's/^\#define MEMRAY_VERSION "\(.*\)"/\1/p' cli/main.c)
PYTEST_DIST = memray_check_pytest-$(VERSION).dist-info
PYTHONDIR ?= $(LIBDIR)/python$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)/dist-packages
B ?= build

# -Werror with DEVELOPER=1, and always under `make test` (CI builds from scratch there, so every
# object of a CI run is built with it); read when a rule runs, so a target may set DEVELOPER
WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	   -Wwrite-strings -Wvla -Wundef -fno-common $(if $(filter 1,$(DEVELOPER)),-Werror)

ALL_CPPFLAGS = -I. -D_GNU_SOURCE $(shell pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2) $(CPPFLAGS)
ALL_CFLAGS = -std=gnu11 $(WARNINGS) $(CFLAGS)
PKGS = libdw liblz4 libxxhash
TOOL_LIBS = -ldw -lelf -llz4 -lxxhash -liberty -lxml2 -lyaml -lncursesw -lm $(LDLIBS)
TRACKER_LIBS = -lunwind -ldw -lelf -llz4 -lxxhash -ldl -lpthread $(LDLIBS)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm -lpthread)

COMMON_SRC = $(wildcard common/*.c)
CAPTURE_SRC = $(wildcard capture/*.c)
REPORT_SRC = $(wildcard report/*.c) $(wildcard junit/*.c) $(wildcard assert/*.c) $(wildcard ci/*.c) \
	$(wildcard live/*.c)
CLI_SRC = $(wildcard cli/*.c)
TRACKER_SRC = $(filter-out tracker/pylayout.c,$(wildcard tracker/*.c))
# what the tracker links of the capture code: no stdio, no malloc
TRACKER_CAPTURE_SRC = capture/block.c capture/format.c capture/header.c common/strbuf.c capture/heapmodel.c capture/livetable.c \
	capture/mapmem.c capture/regions.c

LIB_OBJ = $(patsubst %.c,$(B)/obj/%.o,$(COMMON_SRC) $(CAPTURE_SRC) $(REPORT_SRC)) $(B)/obj/web_assets.o
WEB = report/web/node_modules
WEB_ASSETS = $(WEB)/d3/dist/d3.min.js $(WEB)/d3-flame-graph/dist/d3-flamegraph.umd.min.js \
	$(WEB)/d3-flame-graph/dist/d3-flamegraph.css
CLI_OBJ = $(patsubst %.c,$(B)/obj/%.o,$(CLI_SRC))
TRACKER_OBJ = $(patsubst %.c,$(B)/pic/%.o,$(TRACKER_SRC) $(TRACKER_CAPTURE_SRC))
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
UNIT_SUPPORT = $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

all: $(B)/memray $(B)/libmemray_tracker.so $(B)/python/memray_check_pytest.py

# memray check's pytest plugin, found next to the binary (see ci/harness.h)
$(B)/python/memray_check_pytest.py: ci/python/memray_check_pytest.py
	@mkdir -p $(dir $@)
	cp $< $@

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -DMEMRAY_TRACKER $(ALL_CFLAGS) -fPIC -fvisibility=hidden \
		-ftls-model=initial-exec -MMD -MP -c -o $@ $<

# The CPython versions the tracker reads frames of: each one whose headers are
# here (Debian's python3-dev, a pyenv build) gets a layout table, tracker/pylayout.c
# compiled against its own headers. One directory per version: the first found.
PYTHON_HEADER_DIRS ?= $(wildcard /usr/include/python3.1[123] $(HOME)/.pyenv/versions/3.1[123].*/include/python3.1[123])
PY_VERSIONS := $(sort $(notdir $(PYTHON_HEADER_DIRS)))
py_headers = $(firstword $(filter %/$(1),$(PYTHON_HEADER_DIRS)))
py_layout_fn = tracker_py_layout_$(subst .,_,$(1))
PY_LAYOUT_OBJ = $(patsubst %,$(B)/pic/pylayout/%.o,$(PY_VERSIONS)) $(B)/pic/pylayout/table.o

$(B)/pic/pylayout/python%.o: tracker/pylayout.c tracker/pylayout.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) -isystem $(call py_headers,python$*) -DPY_LAYOUT_FN=$(call py_layout_fn,python$*) \
		$(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

# the table of the versions built in; rewritten only when the list changes
$(B)/gen/pylayouts.c: FORCE
	@mkdir -p $(dir $@)
	@{ echo '/* made by make: the CPython layouts built into the tracker */'; \
	  echo '#include "tracker/pylayout.h"'; \
	  for v in $(PY_VERSIONS); do f=tracker_py_layout_$$(echo $$v | tr . _); \
	    echo "void $$f(struct py_layout *l);"; done; \
	  echo 'const py_layout_fn tracker_py_layouts[] = {'; \
	  for v in $(PY_VERSIONS); do echo "	tracker_py_layout_$$(echo $$v | tr . _),"; done; \
	  echo '	0,'; echo '};'; } > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(B)/pic/pylayout/table.o: $(B)/gen/pylayouts.c tracker/pylayout.h
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -c -o $@ $<

# the browser libraries the HTML reports inline (make deps installs them from npm)
$(WEB_ASSETS):
	@echo "missing $@: run 'make deps' (it installs d3 and d3-flame-graph from npm)" && false

$(B)/gen/web_assets.c: report/web/embed.py $(WEB_ASSETS)
	@mkdir -p $(dir $@)
	$(PYTHON) report/web/embed.py $@ web_d3_js=$(word 1,$(WEB_ASSETS)) \
		web_flamegraph_js=$(word 2,$(WEB_ASSETS)) web_flamegraph_css=$(word 3,$(WEB_ASSETS))

$(B)/obj/web_assets.o: $(B)/gen/web_assets.c report/html.h
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libmemray.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(B)/memray: $(CLI_OBJ) $(B)/libmemray.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJ) $(B)/libmemray.a $(TOOL_LIBS)

$(B)/libmemray_tracker.so: $(TRACKER_OBJ) $(PY_LAYOUT_OBJ) tracker/exports.map
	$(CC) $(ALL_CFLAGS) -shared -fPIC $(LDFLAGS) -Wl,--version-script=tracker/exports.map \
		-Wl,-z,nodelete -Wl,-z,defs -o $@ $(TRACKER_OBJ) $(PY_LAYOUT_OBJ) $(TRACKER_LIBS)

$(B)/tests/%: tests/unit/%.c $(UNIT_SUPPORT) $(B)/libmemray.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_SUPPORT) $(B)/libmemray.a \
		$(TOOL_LIBS) $(CHECK_LIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

e2e: all
	cd tests/e2e && MEMRAY_BUILD=$(abspath $(B)) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) .

test: DEVELOPER = 1
test: check-style all unit fuzz-smoke e2e

# a short fuzz run from the seeds alone, with a fixed seed and count: repeatable
fuzz-smoke:
	@rm -rf $(B)/fuzz/corpus-smoke
	$(MAKE) --no-print-directory fuzz FUZZ_LIMIT="-runs=40000 -seed=1" FUZZ_CORPUS=$(B)/fuzz/corpus-smoke

sanitize:
	$(MAKE) B=build-san CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" build-san/memray build-san/python/memray_check_pytest.py unit
	@# the tracker cannot run under ASan inside other programs; run the e2e tests
	@# with the sanitized memray binary and the normal tracker library
	$(MAKE) all
	cp $(B)/libmemray_tracker.so build-san/ && \
		cd tests/e2e && ASAN_OPTIONS=detect_leaks=1 MEMRAY_BUILD=$(abspath build-san) MEMRAY_PLAIN_BUILD=$(abspath $(B)) \
		$(PYTHON) -m pytest -q -p no:cacheprovider .

# libFuzzer on the capture reader and the analysis, from seeds real runs make;
# built with the checksums off, so that mutations reach the record decoder
FUZZ_SECONDS ?= 20
FUZZ_LIMIT ?= -max_total_time=$(FUZZ_SECONDS)
FUZZ_CORPUS ?= $(B)/fuzz/corpus
FUZZ_SRC = tests/fuzz/fuzz_capture.c $(COMMON_SRC) $(CAPTURE_SRC) report/analysis.c report/frames.c \
	report/symbols.c
$(B)/fuzz/fuzz_capture: $(FUZZ_SRC)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-DCAPTURE_FUZZING=1 $(ALL_CPPFLAGS) -o $@ $(FUZZ_SRC) -ldw -lelf -llz4 -lxxhash -liberty -lm

fuzz: all $(B)/fuzz/fuzz_capture
	@rm -rf $(B)/fuzz/seeds && mkdir -p $(B)/fuzz/seeds $(FUZZ_CORPUS)
	$(CC) -g -O0 -o $(B)/fuzz/blocks tests/fixtures/blocks.c
	$(B)/memray run -q -f -o $(B)/fuzz/seeds/native.bin $(B)/fuzz/blocks > /dev/null
	$(B)/memray run -q -f --no-compress -o $(B)/fuzz/seeds/raw.bin $(B)/fuzz/blocks > /dev/null
	$(B)/memray run -q -f --aggregate -o $(B)/fuzz/seeds/aggregate.bin $(B)/fuzz/blocks > /dev/null
	$(B)/memray run -q -f --no-compress -o $(B)/fuzz/seeds/python.bin -c 'x = [bytearray(5000) for i in range(3)]'
	$(CC) -g -O0 -o $(B)/fuzz/gc_leaky tests/fixtures/gc_leaky.c
	$(B)/memray run -q -f --no-compress --collect-garbage=1000s -o $(B)/fuzz/seeds/gc.bin $(B)/fuzz/gc_leaky 3 signal > /dev/null
	$(B)/fuzz/fuzz_capture $(FUZZ_LIMIT) -max_len=65536 -close_fd_mask=2 -print_final_stats=1 \
		$(FUZZ_CORPUS) $(B)/fuzz/seeds 2>&1 | tail -n 15; exit $${PIPESTATUS[0]}

demo: all
	$(CC) -g -O1 -o $(B)/example tests/fixtures/example.c
	$(B)/memray run -f -o $(B)/example.bin $(B)/example
	$(B)/memray stats $(B)/example.bin
	@echo; echo "== the same for a Python script, with Python frames"
	$(B)/memray run -q -f -o $(B)/example-py.bin tests/fixtures/py_alloc.py || true
	$(B)/memray tree -b 4 $(B)/example-py.bin

bench: all
	$(PYTHON) bench/bench.py --build $(abspath $(B))

# every path quoted: PREFIX may hold spaces ("/opt/with space")
install: all
	install -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(LIBDIR)/memray" "$(DESTDIR)$(INCLUDEDIR)"
	install -m 755 "$(B)/memray" "$(DESTDIR)$(BINDIR)/memray"
	install -m 644 "$(B)/libmemray_tracker.so" "$(DESTDIR)$(LIBDIR)/memray/libmemray_tracker.so"
	install -m 644 tracker/memray_test.h "$(DESTDIR)$(INCLUDEDIR)/memray_test.h"
	install -d "$(DESTDIR)$(PYTHONDIR)/memray"
	install -m 644 python/memray/__init__.py python/memray/__main__.py "$(DESTDIR)$(PYTHONDIR)/memray/"
	install -d "$(DESTDIR)$(LIBDIR)/memray/python"
	install -m 644 ci/python/memray_check_pytest.py "$(DESTDIR)$(LIBDIR)/memray/python/memray_check_pytest.py"
	# plain pytest finds the marks and options through this pytest11 entry point
	install -m 644 ci/python/memray_check_pytest.py "$(DESTDIR)$(PYTHONDIR)/memray_check_pytest.py"
	install -d "$(DESTDIR)$(PYTHONDIR)/$(PYTEST_DIST)"
	printf 'Metadata-Version: 2.1\nName: memray-check-pytest\nVersion: $(VERSION)\nSummary: %s\n' \
		"memray check's pytest marks and options (limit_memory, limit_leaks)" \
		>"$(DESTDIR)$(PYTHONDIR)/$(PYTEST_DIST)/METADATA"
	printf '[pytest11]\nmemray_check_pytest = memray_check_pytest\n' \
		>"$(DESTDIR)$(PYTHONDIR)/$(PYTEST_DIST)/entry_points.txt"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/memray" "$(DESTDIR)$(LIBDIR)/memray/libmemray_tracker.so" \
		"$(DESTDIR)$(INCLUDEDIR)/memray_test.h" "$(DESTDIR)$(LIBDIR)/memray/python/memray_check_pytest.py"
	rm -rf "$(DESTDIR)$(PYTHONDIR)/memray" "$(DESTDIR)$(PYTHONDIR)/$(PYTEST_DIST)"
	rm -f "$(DESTDIR)$(PYTHONDIR)/memray_check_pytest.py"
	-rmdir "$(DESTDIR)$(LIBDIR)/memray/python"
	-rmdir "$(DESTDIR)$(LIBDIR)/memray"

DEBIAN_DEPS = build-essential pkg-config libunwind-dev liblz4-dev libdw-dev libelf-dev \
	libxxhash-dev libiberty-dev check libxml2-dev libyaml-dev libncurses-dev \
	python3 python3-pytest python3-dev heaptrack g++ lz4 tmux time chromium clang libclang-rt-14-dev
# the GitHub action's and the gate's tests (tests/e2e/test_action.py, test_check*.py); cmake: ctest as a harness
DEBIAN_DEPS += python3-yaml python3-junitparser libxml2-utils shellcheck strace cmake
# memray run in a venv (tests/e2e/test_run_python_path.py); eu-addr2line -i, the inline frames' reference
DEBIAN_DEPS += python3-venv elfutils
# memcheck, the reference for the reachability figures (test_reachability.py), and a tool the gate runs beside
DEBIAN_DEPS += valgrind
# what building memray needs, and no more: the GitHub action installs these
BUILD_DEPS = build-essential pkg-config python3 python3-dev libunwind-dev liblz4-dev libdw-dev libelf-dev \
	libxxhash-dev libiberty-dev libxml2-dev libyaml-dev

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $(DEBIAN_DEPS)
	cd report/web && npm ci --no-audit --no-fund --silent
	cd tests/action && npm ci --no-audit --no-fund --silent

# a machine that has them all asks no mirror (the action runs this when its cached build is
# missing or cannot find its libraries)
deps-build:
	@missing=$$(for p in $(BUILD_DEPS); do dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null \
		| grep -q '^ii' || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq -o DPkg::Lock::Timeout=600 $$missing; fi

check-style:
	@! grep -rnE '[[:space:]]+$$' --include='*.[ch]' --include='*.py' common capture report cli tracker tests assert ci junit \
		|| (echo "trailing white space" && false)
	@# the layers point one way; files and functions stay short (tests/style/structure.py says how)
	@$(PYTHON) tests/style/structure.py
	@echo "style ok"

clean:
	rm -rf build build-san


.PHONY: FORCE fuzz fuzz-smoke all demo unit e2e test sanitize bench install uninstall deps deps-build check-style clean
-include $(shell find $(B) build-san -name '*.d' 2>/dev/null)
