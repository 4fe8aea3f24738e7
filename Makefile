# memray: one Makefile for the whole tree. See README.md.
#
#   make            build build/memray and build/libmemray_tracker.so
#   make test       unit tests (Check) and end-to-end tests (pytest)
#   make deps       install every build and test dependency (apt-get, root)
#   make demo       build and profile the bundled example (tests/fixtures/example.c)
#   make bench      overhead against the plain program and heaptrack
#   make sanitize   ASan+UBSan rebuild of the tools and unit tests, then run them
#   make install    PREFIX=/usr/local by default; DESTDIR honoured
#   make check-style
#
# CC, CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS are honoured; DEVELOPER=1 adds -Werror.

CC ?= cc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PYTHON ?= /usr/bin/python3
B ?= build

WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	   -Wwrite-strings -Wvla -Wundef -fno-common
ifeq ($(DEVELOPER),1)
WARNINGS += -Werror
endif

ALL_CPPFLAGS = -I. -D_GNU_SOURCE $(shell pkg-config --cflags libxml-2.0 2>/dev/null || echo -I/usr/include/libxml2) $(CPPFLAGS)
ALL_CFLAGS = -std=gnu11 $(WARNINGS) $(CFLAGS)
PKGS = libdw liblz4 libxxhash
TOOL_LIBS = -ldw -lelf -llz4 -lxxhash -liberty -lxml2 -lyaml -lm $(LDLIBS)
TRACKER_LIBS = -lunwind -llz4 -lxxhash -ldl -lpthread $(LDLIBS)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm -lpthread)

COMMON_SRC = $(wildcard common/*.c)
CAPTURE_SRC = $(wildcard capture/*.c)
REPORT_SRC = $(wildcard report/*.c) $(wildcard junit/*.c) $(wildcard assert/*.c) $(wildcard ci/*.c)
CLI_SRC = $(wildcard cli/*.c)
TRACKER_SRC = $(wildcard tracker/*.c)
# what the tracker links of the capture code: no stdio, no malloc
TRACKER_CAPTURE_SRC = capture/block.c capture/format.c capture/header.c common/strbuf.c report/heapmodel.c

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

$(B)/libmemray_tracker.so: $(TRACKER_OBJ) tracker/exports.map
	$(CC) $(ALL_CFLAGS) -shared -fPIC $(LDFLAGS) -Wl,--version-script=tracker/exports.map \
		-Wl,-z,nodelete -o $@ $(TRACKER_OBJ) $(TRACKER_LIBS)

$(B)/tests/%: tests/unit/%.c $(UNIT_SUPPORT) $(B)/libmemray.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_SUPPORT) $(B)/libmemray.a \
		$(TOOL_LIBS) $(CHECK_LIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

e2e: all
	cd tests/e2e && MEMRAY_BUILD=$(abspath $(B)) $(PYTHON) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) .

test: all unit e2e

sanitize:
	$(MAKE) B=build-san CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" build-san/memray build-san/python/memray_check_pytest.py unit
	@# the tracker cannot run under ASan inside other programs; run the e2e tests
	@# with the sanitized memray binary and the normal tracker library
	$(MAKE) all
	cp $(B)/libmemray_tracker.so build-san/ && \
		cd tests/e2e && ASAN_OPTIONS=detect_leaks=1 MEMRAY_BUILD=$(abspath build-san) \
		$(PYTHON) -m pytest -q -p no:cacheprovider .

demo: all
	$(CC) -g -O1 -o $(B)/example tests/fixtures/example.c
	$(B)/memray run -f -o $(B)/example.bin $(B)/example
	$(B)/memray stats $(B)/example.bin

bench: all
	$(PYTHON) bench/bench.py --build $(abspath $(B))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/memray $(DESTDIR)$(INCLUDEDIR)
	install -m 755 $(B)/memray $(DESTDIR)$(BINDIR)/memray
	install -m 644 $(B)/libmemray_tracker.so $(DESTDIR)$(LIBDIR)/memray/libmemray_tracker.so
	install -m 644 tracker/memray_test.h $(DESTDIR)$(INCLUDEDIR)/memray_test.h
	install -d $(DESTDIR)$(LIBDIR)/memray/python
	install -m 644 ci/python/memray_check_pytest.py $(DESTDIR)$(LIBDIR)/memray/python/memray_check_pytest.py

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/memray $(DESTDIR)$(LIBDIR)/memray/libmemray_tracker.so \
		$(DESTDIR)$(INCLUDEDIR)/memray_test.h $(DESTDIR)$(LIBDIR)/memray/python/memray_check_pytest.py
	-rmdir $(DESTDIR)$(LIBDIR)/memray/python
	-rmdir $(DESTDIR)$(LIBDIR)/memray

DEBIAN_DEPS = build-essential pkg-config libunwind-dev liblz4-dev libdw-dev libelf-dev \
	libxxhash-dev libiberty-dev check libxml2-dev libyaml-dev libncurses-dev \
	python3 python3-pytest python3-junitparser python3-dev heaptrack g++ lz4 tmux time chromium

deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 $(DEBIAN_DEPS)
	cd report/web && npm ci --no-audit --no-fund --silent

check-style:
	@! grep -rnE '[[:space:]]+$$' --include='*.[ch]' --include='*.py' common capture report cli tracker tests assert ci junit \
		|| (echo "trailing white space" && false)
	@echo "style ok"

clean:
	rm -rf build build-san


.PHONY: all demo unit e2e test sanitize bench install uninstall deps check-style clean
-include $(shell find $(B) build-san -name '*.d' 2>/dev/null)
