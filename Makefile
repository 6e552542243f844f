# xlstm.c build. `make` builds the library and the CLI; `make test` runs the test suite;
# `make asan` runs it under AddressSanitizer + UBSan; `make bench` runs the benchmarks.
# BLAS=auto|openblas|none  OPENMP=auto|yes|no  UTF8PROC=auto|yes|no  CLONES=yes|no  CC=gcc|clang
CC      ?= cc
BUILD   ?= build
BLAS    ?= auto
OPENMP  ?= auto
# CLONES=no: no AVX2 clones (src/kernels/ops.h), only the baseline code they would replace
CLONES  ?= yes
UTF8PROC ?= auto
OPT     ?= -O3
# -fno-math-errno: nothing reads errno after a math call, and without it sqrt is a call that
# keeps loops over it (AdamW's) scalar; values are unchanged.
CFLAGS_BASE = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $(OPT) -fno-math-errno -g -Iinclude -Isrc $(EXTRA_CFLAGS)
LDLIBS_BASE = -lm

# ---- feature detection (once per make invocation), reported by `make config`
HASH := \#
ifeq ($(BLAS),auto)
  HAVE_BLAS := $(shell printf '$(HASH)include <cblas.h>\nint main(void){float a=1,b=1,c=0;cblas_sgemm(CblasRowMajor,CblasNoTrans,CblasNoTrans,1,1,1,1,&a,1,&b,1,0,&c,1);return 0;}\n' | $(CC) -x c - -o /dev/null -lopenblas 2>/dev/null && echo yes)
else ifeq ($(BLAS),openblas)
  HAVE_BLAS := yes
endif
ifeq ($(OPENMP),auto)
  HAVE_OMP := $(shell printf 'int main(void){return 0;}\n' | $(CC) -fopenmp -x c - -o /dev/null 2>/dev/null && echo yes)
else ifeq ($(OPENMP),yes)
  HAVE_OMP := yes
endif

# utf8proc: the Unicode data of the BPE tokenizer (categories, NFC); without it the tokenizer
# calls fail with "built without utf8proc" and everything else works
ifeq ($(UTF8PROC),auto)
  HAVE_UTF8PROC := $(shell printf '$(HASH)include <utf8proc.h>\nint main(void){return utf8proc_category(65) == UTF8PROC_CATEGORY_LU ? 0 : 1;}\n' | $(CC) -x c - -o /dev/null -lutf8proc 2>/dev/null && echo yes)
else ifeq ($(UTF8PROC),yes)
  HAVE_UTF8PROC := yes
endif
UNICODE_LIBS := $(if $(HAVE_UTF8PROC),-lutf8proc)
ifeq ($(HAVE_UTF8PROC),yes)
  CFLAGS_BASE += -DXLSTM_USE_UTF8PROC
  LDLIBS_BASE += $(UNICODE_LIBS)
endif
ifeq ($(HAVE_BLAS),yes)
  CFLAGS_BASE += -DXLSTM_USE_CBLAS
  LDLIBS_BASE += -lopenblas
endif
ifeq ($(HAVE_OMP),yes)
  CFLAGS_BASE += -fopenmp
  LDLIBS_BASE += -fopenmp
else
  CFLAGS_BASE += -Wno-unknown-pragmas
endif
ifeq ($(CLONES),no)
  CFLAGS_BASE += -DXLSTM_NO_CLONES
endif

# The effective configuration, flags and detection results alike, in a stamp that every
# object and program depends on, rewritten only when it changes: a make that detects another
# BLAS or OpenMP (or is given other flags) than the last one in $(BUILD) rebuilds everything
# rather than linking objects of both.
STAMP := $(BUILD)/config.stamp
STAMP_TEXT := CC=$(CC) CFLAGS=$(CFLAGS_BASE) LDLIBS=$(LDLIBS_BASE)

LIB_SRC  := $(wildcard src/*.c src/kernels/*.c src/io/*.c src/models/*.c src/models/*/*.c src/train/*.c src/tokenizer/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
TEST_SRC := $(wildcard tests/unit/test_*.c)
EXAMPLE_SRC := $(wildcard examples/*.c)

OBJ32 := $(LIB_SRC:%.c=$(BUILD)/f32/%.o)
OBJ64 := $(LIB_SRC:%.c=$(BUILD)/f64/%.o)
CLIOBJ := $(CLI_SRC:%.c=$(BUILD)/f32/%.o)
# tests named test_*_f64.c run the double-precision build of the library
TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRC))
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRC))
# tests/cli_blas.sh preloads it to play an OpenBLAS that does not recognize the CPU
ifeq ($(HAVE_BLAS),yes)
  TESTS += $(BUILD)/tests/fake_corename.so
endif

.PHONY: all test test-unit asan clean config bench fuzz FORCE
# keep intermediate objects of the chained fuzz rules
.SECONDARY:
all: config $(BUILD)/libxlstm.a $(BUILD)/xlstm

config:
	@echo "xlstm.c build: CC=$(CC) BLAS=$(if $(HAVE_BLAS),openblas,none (portable C matmul; slower)) OpenMP=$(if $(HAVE_OMP),yes,no (single thread)) utf8proc=$(if $(HAVE_UTF8PROC),yes,no (no BPE tokenizer))$(if $(filter no,$(CLONES)), AVX2 clones: no)"

# (its recipe runs every time, but touches the stamp only when the text differs)
$(STAMP): FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(subst ','\'',$(STAMP_TEXT))' | cmp -s - $@ || \
	  { [ ! -e $@ ] || echo "xlstm.c build: the configuration in $(BUILD) changed: rebuilding it all"; \
	    printf '%s\n' '$(subst ','\'',$(STAMP_TEXT))' > $@; }

$(BUILD)/f32/%.o: %.c $(wildcard include/*.h src/*.h src/*/*.h src/*/*/*.h) $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -c $< -o $@
$(BUILD)/f64/%.o: %.c $(wildcard include/*.h src/*.h src/*/*.h src/*/*/*.h) $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -DXLSTM_DOUBLE -c $< -o $@

$(BUILD)/libxlstm.a: $(OBJ32)
	ar rcs $@ $^
$(BUILD)/libxlstm64.a: $(OBJ64)
	ar rcs $@ $^

$(BUILD)/xlstm: $(CLIOBJ) $(BUILD)/libxlstm.a $(STAMP)
	$(CC) $(CFLAGS_BASE) -o $@ $(CLIOBJ) $(BUILD)/libxlstm.a $(LDLIBS_BASE)
	@if [ "$(BUILD)" = build ]; then ln -sf build/xlstm xlstm; fi

$(BUILD)/tests/fake_corename.so: tests/fake_corename.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -O2 -shared -fPIC -o $@ $<

# (a double-precision test includes its float twin: any test source may be one)
$(BUILD)/tests/%_f64: tests/unit/%_f64.c tests/unit/test.h $(TEST_SRC) $(BUILD)/libxlstm64.a $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -DXLSTM_DOUBLE -o $@ $< $(BUILD)/libxlstm64.a $(LDLIBS_BASE)
# (some CLI unit tests compile the CLI module they test into themselves)
$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h $(BUILD)/libxlstm.a $(CLI_SRC) $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(BUILD)/libxlstm.a $(LDLIBS_BASE)

# Tests named test_ref_* also link the naive double-precision reference (tests/reference).
REF_SRC := $(wildcard tests/reference/*.c)
REFOBJ := $(REF_SRC:%.c=$(BUILD)/ref/%.o)
$(REFOBJ): $(BUILD)/ref/%.o: %.c tests/reference/xlstm_ref.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -c $< -o $@
$(BUILD)/tests/test_ref_%_f64: tests/unit/test_ref_%_f64.c tests/unit/test.h tests/unit/ref_check.h $(TEST_SRC) \
  $(REFOBJ) $(BUILD)/libxlstm64.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -DXLSTM_DOUBLE -o $@ $< $(REFOBJ) $(BUILD)/libxlstm64.a $(LDLIBS_BASE)
$(BUILD)/tests/test_ref_%: tests/unit/test_ref_%.c tests/unit/test.h tests/unit/ref_check.h $(REFOBJ) $(BUILD)/libxlstm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) -o $@ $< $(REFOBJ) $(BUILD)/libxlstm.a $(LDLIBS_BASE)

# the examples see only the public header (-Iinclude, no -Isrc) and link only libxlstm
$(BUILD)/examples/%: examples/%.c include/xlstm.h $(BUILD)/libxlstm.a $(STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra $(OPT) $(EXTRA_CFLAGS) -Iinclude -o $@ $< $(BUILD)/libxlstm.a $(LDLIBS_BASE)

test: all $(TESTS) $(EXAMPLES)
	@BUILD=$(BUILD) sh tests/run.sh
# the test programs alone, without the CLI tests (a second build's check: tests/clones.sh)
test-unit: $(TESTS)
	@BUILD=$(BUILD) sh tests/run.sh unit

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (separate build dir).
asan:
	$(MAKE) BUILD=build-asan OPT=-O1 EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# Speed of the named configurations (see docs/performance.md); BENCH_ARGS="small --seconds 5";
# then the tokenizer's encoding beside Hugging Face tokenizers (docs/tokenizer.md)
bench: all
	./$(BUILD)/xlstm bench $(BENCH_ARGS)
	XLSTM=$(BUILD)/xlstm sh tools/bench_tokenizer.sh

# libFuzzer targets (clang), one per parser (fuzz_cli_VERB: a verb's flags), built without
# BLAS/OpenMP under ASan+UBSan.
# `make fuzz FUZZ_SECONDS=60 FUZZ_SEED=1` runs each for that long on its seed corpus (fuzz/corpus/NAME).
FUZZ_TARGETS := $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_SEED ?= 1
FUZZ_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g -Iinclude -Isrc -Wno-unknown-pragmas \
              $(if $(HAVE_UTF8PROC),-DXLSTM_USE_UTF8PROC) \
              -fsanitize=fuzzer-no-link,address,undefined
build-fuzz/obj/%.o: %.c $(wildcard include/*.h src/*.h src/*/*.h src/*/*/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c $< -o $@
build-fuzz/%: fuzz/%.c $(LIB_SRC:%.c=build-fuzz/obj/%.o) build-fuzz/obj/src/cli/data.o
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lm $(UNICODE_LIBS)
# fuzz_cli_VERB includes src/cli/VERB.c (its parser is static): link every other CLI module
define FUZZ_CLI_RULE
build-fuzz/fuzz_cli_$(1): fuzz/fuzz_cli_$(1).c fuzz/cli_harness.h $(LIB_SRC:%.c=build-fuzz/obj/%.o) \
  $(filter-out build-fuzz/obj/src/cli/main.o build-fuzz/obj/src/cli/$(1).o,$(CLI_SRC:%.c=build-fuzz/obj/%.o))
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $$@ $$(filter %.c %.o,$$^) -lm $(UNICODE_LIBS)
endef
$(foreach verb,$(patsubst fuzz/fuzz_cli_%.c,%,$(wildcard fuzz/fuzz_cli_*.c)),$(eval $(call FUZZ_CLI_RULE,$(verb))))
fuzz: $(FUZZ_TARGETS:%=build-fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t; \
	  echo "== $$t ($(FUZZ_SECONDS) s)"; \
	  ./build-fuzz/$$t -seed=$(FUZZ_SEED) -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=build-fuzz/$$t- build-fuzz/corpus/$$t fuzz/corpus/$$t > build-fuzz/$$t.log 2>&1; \
	  rc=$$?; grep -E "stat::number_of_executed_units|ERROR|SUMMARY|Test unit written" build-fuzz/$$t.log; \
	  [ $$rc -eq 0 ] || { echo "$$t failed: see build-fuzz/$$t.log"; exit 1; }; \
	done

clean:
	rm -rf build build-asan build-fuzz build-noclones build-nolib build-clang xlstm
