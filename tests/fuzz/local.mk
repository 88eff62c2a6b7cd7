# tests/fuzz/local.mk - fuzzing.
# Four fuzz targets (tests/fuzz/fuzz_*.c), each one LLVMFuzzerTestOneInput
# that checks invariants and aborts when one fails.  Each is linked twice:
#  - with tests/fuzz/replay.c into tests/fuzz/replay_*, a plain program that
#    `make check' runs over the seed corpus tests/fuzz/corpus/<target>/
#    (tests/fuzz-replay.sh), with any compiler;
#  - with libFuzzer into tests/fuzz/fuzz_*, only with --enable-fuzzing
#    (clang), built by `make' and run by `make fuzz' (tests/fuzz/run.sh),
#    never by `make check'.
# They link the convenience library: resolve_args calls internal nb__*
# functions, and defines getaddrinfo/freeaddrinfo for the library objects.
FUZZ_INCLUDES = $(AM_CPPFLAGS) -I$(top_srcdir)/lib -I$(top_srcdir)/examples
FUZZ_REPLAYERS = \
	tests/fuzz/replay_split \
	tests/fuzz/replay_addr_format \
	tests/fuzz/replay_resolve_args \
	tests/fuzz/replay_timeproto
FUZZERS = \
	tests/fuzz/fuzz_split \
	tests/fuzz/fuzz_addr_format \
	tests/fuzz/fuzz_resolve_args \
	tests/fuzz/fuzz_timeproto
FUZZ_LIBS = lib/libnetbasics-core.la
if HAVE_CHECK
check_PROGRAMS += $(FUZZ_REPLAYERS)
endif
FUZZER_LINK_FLAGS = $(AM_LDFLAGS) $(NB_FUZZER_LDFLAGS)

tests_fuzz_replay_split_SOURCES = tests/fuzz/replay.c tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_split.c
tests_fuzz_replay_split_CPPFLAGS = $(FUZZ_INCLUDES)
tests_fuzz_replay_split_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_addr_format_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz.h tests/fuzz/fuzz_addr_format.c
tests_fuzz_replay_addr_format_CPPFLAGS = $(FUZZ_INCLUDES)
tests_fuzz_replay_addr_format_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_resolve_args_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz.h tests/fuzz/fuzz_resolve_args.c
tests_fuzz_replay_resolve_args_CPPFLAGS = $(FUZZ_INCLUDES)
tests_fuzz_replay_resolve_args_LDADD = $(FUZZ_LIBS)
tests_fuzz_replay_timeproto_SOURCES = tests/fuzz/replay.c \
	tests/fuzz/fuzz.h tests/fuzz/fuzz_timeproto.c $(EXAMPLE_SOURCES)
tests_fuzz_replay_timeproto_CPPFLAGS = $(FUZZ_INCLUDES)

tests_fuzz_fuzz_split_SOURCES = tests/fuzz/fuzz.h tests/fuzz/fuzz_split.c
tests_fuzz_fuzz_split_CPPFLAGS = $(FUZZ_INCLUDES)
tests_fuzz_fuzz_split_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_split_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_addr_format_SOURCES = tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_addr_format.c
tests_fuzz_fuzz_addr_format_CPPFLAGS = $(FUZZ_INCLUDES)
tests_fuzz_fuzz_addr_format_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_addr_format_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_resolve_args_SOURCES = tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_resolve_args.c
tests_fuzz_fuzz_resolve_args_CPPFLAGS = $(FUZZ_INCLUDES)
tests_fuzz_fuzz_resolve_args_LDADD = $(FUZZ_LIBS)
tests_fuzz_fuzz_resolve_args_LDFLAGS = $(FUZZER_LINK_FLAGS)
tests_fuzz_fuzz_timeproto_SOURCES = tests/fuzz/fuzz.h \
	tests/fuzz/fuzz_timeproto.c $(EXAMPLE_SOURCES)
tests_fuzz_fuzz_timeproto_CPPFLAGS = $(FUZZ_INCLUDES)
tests_fuzz_fuzz_timeproto_LDFLAGS = $(FUZZER_LINK_FLAGS)

EXTRA_DIST += tests/fuzz/run.sh bench/FUZZ-RESULTS.md

# The seed corpus ships whole: tests/fuzz-replay.sh needs it, and a list
# here would have to follow every file added to it.
dist-hook:
	rm -rf '$(distdir)/tests/fuzz/corpus'
	$(MKDIR_P) '$(distdir)/tests/fuzz'
	cp -R '$(srcdir)/tests/fuzz/corpus' '$(distdir)/tests/fuzz/corpus'
	chmod -R u+w '$(distdir)/tests/fuzz/corpus'

# `make fuzz': every libFuzzer target for FUZZ_SECONDS on a copy of its
# corpus; logs, any crash input and a summary go to fuzz-out/.
FUZZ_SECONDS = 30
if NB_FUZZING
noinst_PROGRAMS += $(FUZZERS)
fuzz: $(FUZZERS)
	FUZZ_BUILDDIR='$(abs_top_builddir)' FUZZ_OUT='$(abs_top_builddir)/fuzz-out' \
	  $(SHELL) '$(top_srcdir)/tests/fuzz/run.sh' '$(FUZZ_SECONDS)'
else
fuzz:
	@echo "make fuzz needs the libFuzzer targets:" >&2
	@echo "configure CC=clang --enable-fuzzing (clang with libFuzzer)" >&2
	@exit 1
endif
.PHONY: fuzz
