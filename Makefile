# gbox — build, test, install. `make help` lists the targets.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  := $(PREFIX)/bin
DATADIR := $(PREFIX)/share/gbox
MANDIR  := $(PREFIX)/share/man
VERSION := 0.1.0

BUILD   ?= build
CC      ?= gcc
PKGS    := libseccomp jansson libnl-3.0 libnl-route-3.0 libcrypto libarchive
# libnftables: headers only; nft.c loads the library with dlopen when a policy has egress rules
NFT_CFLAGS := $(shell pkg-config --cflags libnftables 2>/dev/null)
WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wno-format-truncation
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(SAN) \
	-DGBOX_VERSION=\"$(VERSION)\" -DGBOX_DATADIR=\"$(DATADIR)\" \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(NFT_CFLAGS)
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
ATTACK  := $(BUILD)/attack
GRSTUB  := $(BUILD)/grstub
IMAGE   := $(BUILD)/images/base/rootfs
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: all deps images image-graphoid man bench check check-unit check-integration check-adversarial check-oci check-valgrind check-vm demo install asan check-asan clean help lint fuzz fuzz-build fuzzers

all: deps $(GBOX) images man

# Man pages: docs/*.md converted to roff with go-md2man (scripts/install-deps.sh installs it).
MANPAGES := $(BUILD)/man/gbox.1 $(BUILD)/man/gbox-policy.5 $(BUILD)/man/gbox-image.5
man: $(MANPAGES)
$(BUILD)/man/%: docs/%.md | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	go-md2man -in $< -out $@.tmp && mv $@.tmp $@

help:
	@echo "make            build gbox, the probe helper and the base image (installs deps if missing)"
	@echo "make check      unit tests (cmocka), integration and adversarial tests (bats); needs root"
	@echo "make check-adversarial   only the escape attempts (tests/adversarial)"
	@echo "make check-oci  only the OCI runtime suites (tests/oci: gbox-runc alone, podman, containerd)"
	@echo "make check-valgrind      only the daemon under valgrind (tests/valgrind; part of make check)"
	@echo "make fuzz       run each libFuzzer target for FUZZ_SECONDS (default 60) with clang"
	@echo "make demo       run examples/untrusted.sh under the default policy, with its report"
	@echo "make bench      every benchmark of issue #10 next to bwrap, crun, runc and fork/exec; rewrites"
	@echo "                docs/benchmarks.md and docs/bench/*.png (tests/bench/all.sh; BENCH_ARGS=--quick)"
	@echo "make asan       build with ASan+UBSan into build-asan/; make check-asan runs the tests with it"
	@echo "make check-vm   the cgroup suites and tests/adversarial inside a pure cgroup v2 VM (qemu TCG, Debian 6.1 kernel)"
	@echo "make install    install to \$$(DESTDIR)\$$(PREFIX) (default /usr/local)"
	@echo "make lint       reject banned functions (sprintf, strcpy, atoi, system, ...)"
	@echo "GR=/path/to/gr make image-graphoid   the Graphoid interpreter image and its stdlib module"

# One command for the benchmarks (tests/bench/README.md); root, a quiet machine, the peers installed.
bench: all
	tests/bench/all.sh $(BENCH_ARGS)

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

$(BUILD)/image-schema.min.json: images/schema.json | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	jq -c 'walk(if type == "object" then del(.doc) else . end)' $< > $@.tmp && mv $@.tmp $@

$(BUILD)/runtime/schema_blob.o: runtime/schema_blob.S $(BUILD)/schema.min.json $(BUILD)/image-schema.min.json
	@mkdir -p $(dir $@)
	$(CC) -c -DSCHEMA_PATH='"$(BUILD)/schema.min.json"' -DIMAGE_SCHEMA_PATH='"$(BUILD)/image-schema.min.json"' -o $@ $<

$(BUILD)/libgbox.a: $(LIB_OBJ)
	ar rcs $@ $^

$(GBOX): $(BUILD)/runtime/main.o $(BUILD)/libgbox.a
	$(CC) $(ALL_CFLAGS) $(LDMODE) -o $@ $^ $(LIBS) 2>&1 | { grep -v "getproto\|libnl_3_la\|statically linked applications" || true; }
	@test -x $@
	@ln -sf gbox $(BUILD)/gbox-runc  # the OCI runtime name (docs/oci.md)

# The same objects linked dynamically, for valgrind (it follows malloc only through the dynamic
# loader): tests/valgrind runs the daemon under it.
$(BUILD)/gbox-dynamic: $(BUILD)/runtime/main.o $(BUILD)/libgbox.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# The probe and the attack helper run inside images that have no libc: static.
$(PROBE): tests/probe/probe.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O2 -static $(WARN) -D_GNU_SOURCE -o $@ $<

$(ATTACK): tests/adversarial/attack.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O2 -static $(WARN) -D_GNU_SOURCE -o $@ $<

# grstub: the TEST DOUBLE for the Graphoid interpreter (tests/fixtures/README.md), static.
$(GRSTUB): tests/fixtures/grstub.c | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O2 -static -pthread $(WARN) -D_GNU_SOURCE -o $@ $<

# The image directory: each image is NAME/rootfs + NAME/module.json (images/lib.sh).
IMAGES := $(IMAGE) $(BUILD)/images/probe/rootfs $(BUILD)/images/sample-1.0.0/rootfs $(BUILD)/images/sample-2.0.0/rootfs \
	$(BUILD)/images/graphoid/rootfs
images: $(IMAGES)
$(IMAGE): images/base/build.sh images/base/module.json $(PROBE) $(ATTACK)
	images/base/build.sh $(BUILD)/images/base $(PROBE) $(ATTACK)
	@touch $@
$(BUILD)/images/probe/rootfs: images/probe/build.sh images/probe/module.json images/lib.sh $(PROBE)
	images/probe/build.sh $(BUILD)/images/probe $(PROBE)
	@touch $@
$(BUILD)/images/sample-%/rootfs: images/sample/build.sh images/lib.sh
	images/sample/build.sh $(BUILD)/images/sample-$* $*
	@touch $@

# The stand-in graphoid + graphoid-stdlib images: grstub as /usr/bin/gr (a test double, not gr).
# A real interpreter replaces them: GR=/path/to/gr make image-graphoid.
$(BUILD)/images/graphoid/rootfs: images/graphoid/build.sh images/lib.sh $(GRSTUB) $(wildcard tests/fixtures/graphoid-stdlib/*)
	@if [ -f $(BUILD)/images/graphoid/.real ]; then echo "build/images/graphoid: a real gr (make image-graphoid), kept"; else \
	  GR=$(GRSTUB) GR_STDLIB=tests/fixtures/graphoid-stdlib GR_VERSION=0.0.1 \
	  GR_DESCRIPTION="TEST DOUBLE: grstub (tests/fixtures/grstub.c) standing in for the Graphoid interpreter" \
	  images/graphoid/build.sh $(BUILD)/images; fi
	@touch $@

# GR=/path/to/gr make image-graphoid: the interpreter (and its shared libraries) and its stdlib.
image-graphoid:
	@test -n "$(GR)" || { echo "usage: GR=/path/to/gr make image-graphoid" >&2; exit 2; }
	images/graphoid/build.sh $(BUILD)/images
	@touch $(BUILD)/images/graphoid/.real

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libgbox.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -o $@ $< $(BUILD)/libgbox.a $(LIBS) -lcmocka

check-unit: $(UNIT_BIN)
	@scripts/run-tests --unit $(UNIT_BIN)

check-integration: all
	@GBOX=$(abspath $(GBOX)) PROBE_IMAGE=$(abspath $(IMAGE)) scripts/run-tests --bats tests/integration

check-adversarial: all
	@GBOX=$(abspath $(GBOX)) PROBE_IMAGE=$(abspath $(IMAGE)) scripts/run-tests --bats tests/adversarial

# gbox as an OCI runtime: on its own, under podman, under containerd (tests/oci)
check-oci: all
	@GBOX=$(abspath $(GBOX)) PROBE_IMAGE=$(abspath $(IMAGE)) scripts/run-tests --bats tests/oci

check-valgrind: all $(BUILD)/gbox-dynamic
	@GBOX=$(abspath $(GBOX)) GBOX_DYNAMIC=$(abspath $(BUILD)/gbox-dynamic) PROBE_IMAGE=$(abspath $(IMAGE)) scripts/run-tests --bats tests/valgrind

# One closing line over all suites: "N passed, M failed". tests/valgrind (the daemon under
# valgrind) is left out of the sanitizer build: ASan and valgrind cannot watch the same process.
VALGRIND_SUITE := $(if $(SAN),,tests/valgrind)
check: lint all $(UNIT_BIN) $(if $(SAN),,$(BUILD)/gbox-dynamic)
	@GBOX=$(abspath $(GBOX)) GBOX_DYNAMIC=$(abspath $(BUILD)/gbox-dynamic) PROBE_IMAGE=$(abspath $(IMAGE)) scripts/run-tests --unit $(UNIT_BIN) --bats tests/integration tests/adversarial tests/oci $(VALGRIND_SUITE)

demo: all
	@$(GBOX) run --report $(BUILD)/demo-report.json examples/untrusted.sh; \
	  echo "exit code $$?"; echo "--- report ($(BUILD)/demo-report.json) ---"; cat $(BUILD)/demo-report.json

# The sanitizer build is a test build: it also honours test hooks such as GBOX_TEST_LANDLOCK_ABI.
ASAN_FLAGS := BUILD=build-asan STATIC=0 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -DGBOX_TEST_HOOKS"
asan:
	$(MAKE) $(ASAN_FLAGS) all

check-asan:
	$(MAKE) $(ASAN_FLAGS) check

# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang into build-fuzz/ against a copy of
# the library instrumented for coverage, ASan and UBSan. make fuzz runs each for FUZZ_SECONDS.
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Wno-unknown-warning-option
FUZZ_MAKE    = $(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang STATIC=0 SAN="$(FUZZ_SAN)"
FUZZERS      := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard tests/fuzz/fuzz_*.c))

fuzz-build: $(BUILD)/.deps
	@$(FUZZ_MAKE) $(FUZZ_BUILD)/libgbox.a
	@$(FUZZ_MAKE) fuzzers

# plan_build only looks the image up: an empty tree with /bin/sh stands in for the base image.
fuzzers: $(FUZZERS) $(FUZZ_BUILD)/policy.dict $(FUZZ_BUILD)/manifest.dict
	@mkdir -p $(FUZZ_BUILD)/images/base/rootfs/bin $(FUZZ_BUILD)/bundle/rootfs && touch $(FUZZ_BUILD)/images/base/rootfs/bin/sh

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libgbox.a
	clang $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libgbox.a $(LIBS)

# Every field name of the schema and every syscall group, as libFuzzer dictionary tokens.
$(FUZZ_BUILD)/policy.dict: policies/schema.json runtime/syscall_groups.c
	@mkdir -p $(dir $@)
	{ jq -r '[.. | objects | .fields? // empty | keys[]] | unique[]' policies/schema.json; \
	  grep -o '"@[a-z-]*"' runtime/syscall_groups.c | tr -d '"'; } | sort -u | sed 's/.*/"\\"&\\""/' > $@

# The manifest's field names and enum values (tests/fuzz/request.dict is written by hand).
$(FUZZ_BUILD)/manifest.dict: images/schema.json
	@mkdir -p $(dir $@)
	{ jq -r '[.. | objects | .fields? // empty | keys[]] | unique[]' $<; \
	  jq -r '[.. | objects | .values? // empty | .[]] | unique[] | strings' $<; } | sort -u | sed 's/.*/"\\"&\\""/' > $@

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/run-fuzz $(FUZZ_BUILD) $(FUZZERS)

# cgroup.bats, sandbox.bats, cleanup.bats and tests/adversarial inside a VM whose only hierarchy is cgroup v2
# (scripts/vm-test; docs/testing.md). Ends with "N passed, M failed" like make check.
check-vm: all
	@scripts/install-deps.sh --vm
	@scripts/check-vm

lint:
	@scripts/lint

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/policies $(DESTDIR)$(DATADIR)/images/base $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5
	install -m 0755 $(GBOX) $(DESTDIR)$(BINDIR)/gbox
	ln -sf gbox $(DESTDIR)$(BINDIR)/gbox-runc
	install -m 0644 policies/*.json $(DESTDIR)$(DATADIR)/policies/
	rm -rf $(DESTDIR)$(DATADIR)/images/base/rootfs $(DESTDIR)$(DATADIR)/images/probe
	cp -a $(IMAGE) $(DESTDIR)$(DATADIR)/images/base/rootfs
	install -m 0644 $(BUILD)/images/base/module.json $(DESTDIR)$(DATADIR)/images/base/module.json
	cp -a $(BUILD)/images/probe $(DESTDIR)$(DATADIR)/images/probe
	install -m 0644 $(BUILD)/man/gbox.1 $(DESTDIR)$(MANDIR)/man1/gbox.1
	install -m 0644 $(BUILD)/man/gbox-policy.5 $(BUILD)/man/gbox-image.5 $(DESTDIR)$(MANDIR)/man5/
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 completions/gbox $(DESTDIR)$(PREFIX)/share/bash-completion/completions/gbox

clean:
	rm -rf build build-asan build-fuzz
