# gbox — build, test, install. `make help` lists the targets.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
DATADIR := $(PREFIX)/share/gbox
MANDIR  := $(PREFIX)/share/man
VERSION := 0.1.0

BUILD   ?= build
CC      ?= gcc
PKGS    := libseccomp jansson libnl-3.0 libnl-route-3.0
WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wno-format-truncation
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) \
	-DGBOX_VERSION=\"$(VERSION)\" -DGBOX_DATADIR=\"$(DATADIR)\" \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# gbox links statically by default: no shared-library loading on every start (-0.4 ms of ~6 ms)
# and nothing to install beside the binary. Sanitizer builds need dynamic linking.
STATIC  ?= 1
ifeq ($(STATIC),1)
LDMODE  := -static
LIBS    = $(shell pkg-config --libs --static $(PKGS) 2>/dev/null)
else
LDMODE  :=
LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
endif

SANDBOX_SRC := $(wildcard sandbox/*.c)
RUNTIME_SRC := $(filter-out runtime/main.c,$(wildcard runtime/*.c))
LIB_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(SANDBOX_SRC) $(RUNTIME_SRC)) $(BUILD)/runtime/schema_blob.o
GBOX    := $(BUILD)/gbox
PROBE   := $(BUILD)/probe
IMAGE   := $(BUILD)/images/base/rootfs
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all deps images check check-unit check-integration check-vm demo install asan check-asan clean help lint

all: deps $(GBOX) images

help:
	@echo "make            build gbox, the probe helper and the base image (installs deps if missing)"
	@echo "make check      unit tests (cmocka) and integration tests (bats); needs root"
	@echo "make demo       run examples/untrusted.sh under the default policy, with its report"
	@echo "make asan       build with ASan+UBSan into build-asan/; make check-asan runs the tests with it"
	@echo "make check-vm   the cgroup suites inside a pure cgroup v2 VM (qemu TCG, Debian kernel; ~15 min)"
	@echo "make install    install to \$$(DESTDIR)\$$(PREFIX) (default /usr/local)"
	@echo "make lint       reject banned functions (sprintf, strcpy, atoi, system, ...)"

# Installs missing Debian packages (needs root); a no-op when everything is present.
deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/install-deps.sh
	@scripts/install-deps.sh
	@mkdir -p $(BUILD) && touch $@

$(BUILD)/%.o: %.c $(wildcard sandbox/*.h runtime/*.h) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The binary embeds the schema without its "doc" strings: parsing it is on every run's path.
$(BUILD)/schema.min.json: policies/schema.json | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	jq -c 'walk(if type == "object" then del(.doc) else . end)' $< > $@.tmp && mv $@.tmp $@

$(BUILD)/runtime/schema_blob.o: runtime/schema_blob.S $(BUILD)/schema.min.json
	@mkdir -p $(dir $@)
	$(CC) -c -DSCHEMA_PATH='"$(BUILD)/schema.min.json"' -o $@ $<

$(BUILD)/libgbox.a: $(LIB_OBJ)
	ar rcs $@ $^

$(GBOX): $(BUILD)/runtime/main.o $(BUILD)/libgbox.a
	$(CC) $(ALL_CFLAGS) $(LDMODE) -o $@ $^ $(LIBS) 2>&1 | { grep -v "getproto\|libnl_3_la\|statically linked applications" || true; }
	@test -x $@

# The probe runs inside images that have no libc: static.
$(PROBE): tests/probe/probe.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O2 -static $(WARN) -D_GNU_SOURCE -o $@ $<

images: $(IMAGE)
$(IMAGE): images/base/build.sh images/base/module.json $(PROBE)
	images/base/build.sh $(BUILD)/images/base $(PROBE)
	@touch $@

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libgbox.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(BUILD)/libgbox.a $(LIBS) -lcmocka

check-unit: $(UNIT_BIN)
	@scripts/run-tests --unit $(UNIT_BIN)

check-integration: all
	@GBOX=$(abspath $(GBOX)) PROBE_IMAGE=$(abspath $(IMAGE)) scripts/run-tests --bats tests/integration

# One closing line over all suites: "N passed, M failed".
check: lint all $(UNIT_BIN)
	@GBOX=$(abspath $(GBOX)) PROBE_IMAGE=$(abspath $(IMAGE)) scripts/run-tests --unit $(UNIT_BIN) --bats tests/integration

demo: all
	@$(GBOX) run --report $(BUILD)/demo-report.json examples/untrusted.sh; \
	  echo "exit code $$?"; echo "--- report ($(BUILD)/demo-report.json) ---"; cat $(BUILD)/demo-report.json

asan:
	$(MAKE) BUILD=build-asan STATIC=0 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" all

check-asan:
	$(MAKE) BUILD=build-asan STATIC=0 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" check

# cgroup.bats, sandbox.bats and cleanup.bats inside a VM whose only hierarchy is cgroup v2
# (scripts/vm-test; docs/testing.md). Ends with "N passed, M failed" like make check.
check-vm: all
	@scripts/install-deps.sh --vm
	@scripts/check-vm

lint:
	@scripts/lint

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/policies $(DESTDIR)$(DATADIR)/images/base $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(GBOX) $(DESTDIR)$(BINDIR)/gbox
	install -m 0644 policies/*.json $(DESTDIR)$(DATADIR)/policies/
	rm -rf $(DESTDIR)$(DATADIR)/images/base/rootfs
	cp -a $(IMAGE) $(DESTDIR)$(DATADIR)/images/base/rootfs
	install -m 0644 docs/gbox.1.md $(DESTDIR)$(MANDIR)/man1/gbox.1.md
	install -m 0644 docs/gbox-policy.5.md $(DESTDIR)$(MANDIR)/man5/gbox-policy.5.md

clean:
	rm -rf build build-asan
