# offload - top-level build. Plain GNU make + pkg-config (docs/CONVENTIONS.md "Build").
# make            build everything into $(B)/
# make check      install missing Debian packages, make lint, build, run all tests (unit + integration)
# make asan       the same suite under AddressSanitizer + UBSan (build-asan/)
# make demo       end-to-end demo on a private Postfix (tools/demo.sh)
# make deps       install missing Debian packages only
# make fuzz       libFuzzer targets (tests/fuzz/), FUZZ_SECONDS each (make stress: 600 s each,
#                 then tests/stress/)
# make lint       man pages (mandoc -Tlint), then file/function sizes and the layer rule
#                 (tools/lint-layout.py)
# make install    binaries, man pages, sample config, units, sysusers/tmpfiles/logrotate
#                 (DESTDIR, PREFIX, sysconfdir, unitdir ... honoured)
# make deb        build/offload_<version>_amd64.deb with debhelper (packaging/debian)
# make test-deb   the .deb in a fresh Debian 12 chroot: files, users, daemons, one mail, purge
# V=1             full compiler command lines
B       ?= build
VERSION := $(shell head -n1 packaging/debian/changelog | cut -d' ' -f2 | tr -d '()')
PREFIX  ?= /usr/local
bindir  ?= $(PREFIX)/bin
sbindir ?= $(PREFIX)/sbin
mandir  ?= $(PREFIX)/share/man
docdir  ?= $(PREFIX)/share/doc/offload
# the sample DMS hook (offload.conf(5) [archive] command)
libexecdir ?= $(PREFIX)/lib/offload
sysconfdir ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
unitdir ?= $(PREFIX)/lib/systemd/system
sysusersdir ?= $(PREFIX)/lib/sysusers.d
tmpfilesdir ?= $(PREFIX)/lib/tmpfiles.d
logrotatedir ?= $(sysconfdir)/logrotate.d
V ?=
Q := $(if $(filter 1,$(V)),,@)
SAN     ?=
WERROR  ?=
PKGS    := gmime-3.0 glib-2.0 json-glib-1.0 openssl milter libargon2 libmicrohttpd libcurl libmagic zlib
CC      ?= cc
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wformat=2 -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wvla -fstack-protector-strong -fPIE \
	-Icommon -Istorage-backend -Itransfer -Iclassify -Ipipeline -Iportal -Icli -Iupload
ifeq ($(SAN),1)
CFLAGS_BASE += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
else
CFLAGS_BASE += -D_FORTIFY_SOURCE=2
endif
ifeq ($(WERROR),1)
CFLAGS_BASE += -Werror
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CFLAGS := $(CFLAGS_BASE) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS := -pie -Wl,-z,relro,-z,now $(LDFLAGS_SAN) $(LDFLAGS)
LIBS    := $(PKG_LIBS) -lpthread

COMMON_SRC  := $(wildcard common/*.c)
STORAGE_SRC := $(wildcard storage-backend/*.c)
CLASSIFY_SRC := $(wildcard classify/*.c)
TRANSFER_SRC := $(wildcard transfer/*.c)
PIPE_SRC    := $(wildcard pipeline/*.c)
PORTAL_SRC  := $(filter-out portal/portal_main.c,$(wildcard portal/*.c))
CLI_SRC     := $(wildcard cli/*.c)
UPLOAD_SRC  := $(wildcard upload/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 60

objs = $(patsubst %.c,$(B)/%.o,$(1))
LIB_OBJS := $(call objs,$(PIPE_SRC) $(PORTAL_SRC) $(CLASSIFY_SRC) $(TRANSFER_SRC) $(STORAGE_SRC) $(COMMON_SRC))
PORTAL_BIN := $(if $(wildcard portal/portal_main.c),$(B)/offload-portal)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
REPLAY_BINS := $(patsubst tests/fuzz/fuzz_%.c,$(B)/fuzz/replay_%,$(FUZZ_SRC))

.PHONY: all check asan ubsan unit demo deps clean lint bench fuzz stress install deb test-deb
all: $(B)/offload-milter $(B)/offloadctl $(PORTAL_BIN) $(B)/offload-upload $(UNIT_BINS) $(REPLAY_BINS)

# objects depend on the flags they were built with (WERROR=1, SAN=1 on an existing tree rebuild)
FLAGS_STAMP := $(B)/.cflags
$(shell mkdir -p $(B); echo '$(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(ALL_CFLAGS) $(ALL_LDFLAGS)' > $(FLAGS_STAMP))

$(B)/%.o: %.c $(wildcard */*.h) $(wildcard tests/fuzz/*.h) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/liboffload.a: $(LIB_OBJS)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(B)/offload-milter: $(B)/milter/milter_main.o $(B)/liboffload.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/offload-portal: $(B)/portal/portal_main.o $(B)/liboffload.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/offload-upload: $(call objs,$(UPLOAD_SRC)) $(B)/liboffload.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/offloadctl: $(call objs,$(CLI_SRC)) $(B)/liboffload.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(B)/tests/unit/unit.o $(B)/liboffload.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/unit/unit.o: tests/unit/unit.c tests/unit/unit.h $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# corpus replay of each fuzz target without libFuzzer (run by tests/integration/test_fuzz_replay.sh)
$(B)/fuzz/replay_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o $(B)/liboffload.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# make fuzz: libFuzzer + ASan/UBSan builds with clang, FUZZ_SECONDS per target (FUZZ_TARGETS:
# a subset, e.g. "pdf zip"); seeds from tests/fuzz/corpus/<target>/, new inputs and crashes
# land in build-fuzz/ (tools/fuzz.sh; copy small interesting inputs into the seed corpus)
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
fuzz: deps
	$(MAKE) B=build-fuzz CC=clang SAN=1 CFLAGS=-fsanitize=fuzzer-no-link build-fuzz/liboffload.a
	FUZZ_CFLAGS="$(CFLAGS_BASE) -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS)" FUZZ_LIBS="$(LIBS)" \
		tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# make stress: the long runs kept out of `make check` (tests/stress/README.md): every fuzz
# target for FUZZ_SECONDS (600 here), then each tests/stress/*.sh with the build dir
stress: FUZZ_SECONDS = 600
stress: deps
	$(MAKE) fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)
	$(MAKE) all
	@for s in tests/stress/*.sh; do [ -e "$$s" ] || continue; echo "== $$s"; "$$s" $(B) || exit 1; done

deps:
	@tools/install-deps.sh

unit: all
	tests/run.sh --build $(B) --unit-only

check: deps
	$(MAKE) lint
	$(MAKE) all
	tests/run.sh --build $(B)

asan: deps
	$(MAKE) B=build-asan SAN=1 all
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/run.sh --build build-asan

ubsan: asan

demo:
	@tools/install-deps.sh --demo
	$(MAKE) all
	tools/demo.sh $(B)

bench: deps
	$(MAKE) all
	tools/bench.sh $(B)

# make install: nothing is chowned here (DESTDIR builds run unprivileged); users, directories
# and keys come from sysusers.d, tmpfiles.d and `offloadctl keygen` (the .deb's postinst runs
# them; after a plain `make install` as root run the three commands it prints)
SUBST = sed -e 's|@BINDIR@|$(bindir)|g' -e 's|@SBINDIR@|$(sbindir)|g' -e 's|@SYSCONFDIR@|$(sysconfdir)|g'
install: $(B)/offload-milter $(B)/offloadctl $(B)/offload-portal $(B)/offload-upload
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man5 \
		$(DESTDIR)$(mandir)/man8 $(DESTDIR)$(sysconfdir)/offload $(DESTDIR)$(unitdir) \
		$(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir) $(DESTDIR)$(logrotatedir) \
		$(DESTDIR)$(docdir)/examples
	install -m 0755 $(B)/offload-milter $(B)/offload-portal $(B)/offload-upload $(DESTDIR)$(sbindir)/
	install -m 0755 $(B)/offloadctl $(DESTDIR)$(bindir)/
	install -m 0644 docs/man/offload.conf.5 $(DESTDIR)$(mandir)/man5/
	install -m 0644 docs/man/offload-milter.8 docs/man/offload-portal.8 docs/man/offload-upload.8 \
		docs/man/offloadctl.8 $(DESTDIR)$(mandir)/man8/
	@if [ -e $(DESTDIR)$(sysconfdir)/offload/offload.conf ]; then \
		echo "install: $(DESTDIR)$(sysconfdir)/offload/offload.conf exists, left as it is"; \
	else install -m 0640 packaging/offload.conf $(DESTDIR)$(sysconfdir)/offload/offload.conf; fi
	for u in offload-milter.service offload-portal.service offload-upload.service offload-purge.service \
		offload-purge.timer offload-archive.service offload-archive.timer; do \
		$(SUBST) packaging/$$u > $(DESTDIR)$(unitdir)/$$u && chmod 0644 $(DESTDIR)$(unitdir)/$$u || exit 1; done
	install -m 0644 packaging/offload.sysusers $(DESTDIR)$(sysusersdir)/offload.conf
	install -m 0644 packaging/offload.tmpfiles $(DESTDIR)$(tmpfilesdir)/offload.conf
	$(SUBST) packaging/offload.logrotate > $(DESTDIR)$(logrotatedir)/offload
	chmod 0644 $(DESTDIR)$(logrotatedir)/offload
	install -m 0644 docs/nginx-portal.conf packaging/clamd-offload.conf $(DESTDIR)$(docdir)/examples/
	install -d $(DESTDIR)$(libexecdir)
	install -m 0755 packaging/offload-archive-hook $(DESTDIR)$(libexecdir)/
	@[ -n "$(DESTDIR)" ] || echo "install: now run: systemd-sysusers offload.conf;" \
		"systemd-tmpfiles --create offload.conf; $(bindir)/offloadctl keygen;" \
		"set [policy] internal_domains in $(sysconfdir)/offload/offload.conf"

# make deb: packaging/debian on a copy of the tracked sources (build/deb/), dpkg-buildpackage
deb:
	tools/make-deb.sh $(VERSION)

# make test-deb: the .deb in a Debian 12 chroot (tests/deb/test_deb.sh); root, network to the
# Debian mirror; the chroot lives in build/deb-chroot and is removed afterwards
test-deb: deb
	tests/deb/test_deb.sh build/offload_$(VERSION)_amd64.deb

lint:
	@for m in docs/man/*.[0-9]; do mandoc -Tlint -Wwarning $$m || exit 1; done
	@python3 tools/lint-layout.py

clean:
	rm -rf build build-asan build-fuzz
