# offload - top-level build. Plain GNU make + pkg-config (docs/CONVENTIONS.md "Build").
# make            build everything into $(B)/
# make check      install missing Debian packages, make lint, build, run all tests (unit + integration)
# make asan       the same suite under AddressSanitizer + UBSan (build-asan/)
# make demo       end-to-end demo on a private Postfix (tools/demo.sh)
# make deps       install missing Debian packages only
# make lint       man pages (mandoc -Tlint), then file/function sizes and the layer rule
#                 (tools/lint-layout.py)
B       ?= build
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

.PHONY: all check asan ubsan unit demo deps clean lint bench fuzz
all: $(B)/offload-milter $(B)/offloadctl $(PORTAL_BIN) $(B)/offload-upload $(UNIT_BINS) $(REPLAY_BINS)

# objects depend on the flags they were built with (WERROR=1, SAN=1 on an existing tree rebuild)
FLAGS_STAMP := $(B)/.cflags
$(shell mkdir -p $(B); echo '$(ALL_CFLAGS) $(ALL_LDFLAGS)' | cmp -s - $(FLAGS_STAMP) || echo '$(ALL_CFLAGS) $(ALL_LDFLAGS)' > $(FLAGS_STAMP))

$(B)/%.o: %.c $(wildcard */*.h) $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/liboffload.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/offload-milter: $(B)/milter/milter_main.o $(B)/liboffload.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/offload-portal: $(B)/portal/portal_main.o $(B)/liboffload.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/offload-upload: $(call objs,$(UPLOAD_SRC)) $(B)/liboffload.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/offloadctl: $(call objs,$(CLI_SRC)) $(B)/liboffload.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/%: $(B)/tests/unit/%.o $(B)/tests/unit/unit.o $(B)/liboffload.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/unit/unit.o: tests/unit/unit.c tests/unit/unit.h $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# corpus replay of each fuzz target without libFuzzer (run by tests/integration/test_fuzz_replay.sh)
$(B)/fuzz/replay_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay.o $(B)/liboffload.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# make fuzz: libFuzzer + ASan/UBSan builds with clang, FUZZ_SECONDS per target; new
# findings land in tests/fuzz/corpus/<target>/ (commit the interesting ones)
fuzz: deps
	$(MAKE) B=build-fuzz CC=clang SAN=1 CFLAGS=-fsanitize=fuzzer-no-link build-fuzz/liboffload.a
	@for f in $(FUZZ_SRC); do t=$$(basename $$f .c); t=$${t#fuzz_}; \
	  mkdir -p tests/fuzz/corpus/$$t build-fuzz/fuzz; \
	  clang $(CFLAGS_BASE) -fsanitize=fuzzer,address,undefined $(PKG_CFLAGS) $$f build-fuzz/liboffload.a \
	    $(LIBS) -o build-fuzz/fuzz/fuzz_$$t || exit 1; \
	  seeds=; [ $$t = process ] && seeds=tests/data/corpus; \
	  build-fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=262144 tests/fuzz/corpus/$$t $$seeds || exit 1; \
	done

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

demo: deps
	$(MAKE) all
	tools/demo.sh $(B)

bench: deps
	$(MAKE) all
	tools/bench.sh $(B)

lint:
	@for m in docs/man/*.[0-9]; do mandoc -Tlint -Wwarning $$m || exit 1; done
	@python3 tools/lint-layout.py

clean:
	rm -rf build build-asan build-fuzz
