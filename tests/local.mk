# tests/local.mk - the test suite: Check programs (one per behaviour, see
# tests/README), the tests of internal functions, and shell tests of the
# examples, the build and the documentation.  Check's flags and libraries
# are set on these targets only (TEST_CFLAGS, TEST_LIBS), never globally,
# so that neither the library nor the benchmarks inherit them.
UNIT_TESTS = \
	tests/test_error \
	tests/test_split \
	tests/test_addr \
	tests/test_unix \
	tests/test_activation \
	tests/test_args \
	tests/test_listen \
	tests/test_accept \
	tests/test_udp \
	tests/test_io \
	tests/test_connect \
	tests/test_signals \
	tests/test_emfile \
	tests/test_threads \
	tests/test_fds \
	tests/test_scope \
	tests/test_resolve \
	tests/test_lookup

SHELL_TESTS = \
	tests/exports.sh \
	tests/header.sh \
	tests/readme-example.sh \
	tests/examples-interop.sh \
	tests/connect-syscalls.sh \
	tests/manpages.sh \
	tests/man-examples.sh \
	tests/tutorial.sh \
	tests/systemd-units.sh \
	tests/load.sh \
	tests/fuzz-replay.sh \
	tests/layering.sh

TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
if NB_TSAN
# ThreadSanitizer builds run the Check programs through this wrapper, which
# skips (and says why) the ones TSan cannot judge.
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/tsan-run.sh
endif
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(top_srcdir)'; top_builddir='$(top_builddir)'; \
	CC='$(CC)'; NB_SANITIZER_FLAGS='$(NB_SANITIZER_FLAGS) $(NB_FUZZ_CFLAGS)'; \
	export top_srcdir top_builddir CC NB_SANITIZER_FLAGS;
EXTRA_DIST += $(SHELL_TESTS) tests/valgrind-fds.sh tests/tsan-run.sh \
	tests/abi-compat.sh tests/abi/program-0.1.c
# Programs tests/examples-interop.sh runs with python3.
EXTRA_DIST += \
	tests/activate.py \
	tests/classic-client.py \
	tests/classic-server.py \
	tests/interop-clients.py

# Tests of internal (nb__*) functions link the convenience library, whose
# objects are the very ones the shared library is made of.
INTERNAL_TESTS = \
	tests/test_race \
	tests/test_faults

if HAVE_CHECK
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
TEST_LIBS = tests/libhelpers.la lib/libnetbasics.la $(CHECK_LIBS)
NB_INTERNAL_LIBS = tests/libhelpers.la lib/libnetbasics-core.la $(CHECK_LIBS)
NB_INTERNAL_INCLUDES = $(AM_CPPFLAGS) -I$(top_srcdir)/lib

check_LTLIBRARIES = tests/libhelpers.la
tests_libhelpers_la_SOURCES = tests/helpers.c tests/helpers.h
tests_libhelpers_la_CFLAGS = $(TEST_CFLAGS)
tests_libhelpers_la_CPPFLAGS = $(AM_CPPFLAGS)
if CODE_COVERAGE_ENABLED
# th_child_exit writes the gcov counters of a forked test child.
tests_libhelpers_la_CPPFLAGS += -DTH_GCOV_DUMP
endif

check_PROGRAMS += $(UNIT_TESTS) $(INTERNAL_TESTS) $(TEST_PROBES)
TESTS += $(UNIT_TESTS) $(INTERNAL_TESTS) $(SHELL_TESTS)

tests_test_error_CFLAGS = $(TEST_CFLAGS)
tests_test_error_LDADD = $(TEST_LIBS)
tests_test_split_CFLAGS = $(TEST_CFLAGS)
tests_test_split_LDADD = $(TEST_LIBS)
tests_test_addr_CFLAGS = $(TEST_CFLAGS)
tests_test_addr_LDADD = $(TEST_LIBS)
tests_test_unix_CFLAGS = $(TEST_CFLAGS)
tests_test_unix_LDADD = $(TEST_LIBS)
tests_test_activation_CFLAGS = $(TEST_CFLAGS)
tests_test_activation_LDADD = $(TEST_LIBS)
tests_test_args_CFLAGS = $(TEST_CFLAGS)
tests_test_args_LDADD = $(TEST_LIBS)
tests_test_listen_CFLAGS = $(TEST_CFLAGS)
tests_test_listen_LDADD = $(TEST_LIBS)
tests_test_accept_CFLAGS = $(TEST_CFLAGS)
tests_test_accept_LDADD = $(TEST_LIBS)
tests_test_udp_CFLAGS = $(TEST_CFLAGS)
tests_test_udp_LDADD = $(TEST_LIBS)
tests_test_io_CFLAGS = $(TEST_CFLAGS)
tests_test_io_LDADD = $(TEST_LIBS)
tests_test_connect_CFLAGS = $(TEST_CFLAGS)
tests_test_connect_LDADD = $(TEST_LIBS)
tests_test_signals_CFLAGS = $(TEST_CFLAGS)
tests_test_signals_LDADD = $(TEST_LIBS)
tests_test_emfile_CFLAGS = $(TEST_CFLAGS)
tests_test_emfile_LDADD = $(TEST_LIBS)
tests_test_threads_CFLAGS = $(TEST_CFLAGS)
tests_test_threads_LDADD = $(TEST_LIBS)
tests_test_fds_CFLAGS = $(TEST_CFLAGS)
tests_test_fds_LDADD = $(TEST_LIBS)
tests_test_scope_CFLAGS = $(TEST_CFLAGS)
tests_test_scope_LDADD = $(TEST_LIBS)
tests_test_resolve_CFLAGS = $(TEST_CFLAGS)
tests_test_resolve_LDADD = $(TEST_LIBS)
tests_test_lookup_CFLAGS = $(TEST_CFLAGS)
tests_test_lookup_LDADD = $(TEST_LIBS)
tests_test_race_CFLAGS = $(TEST_CFLAGS)
tests_test_race_CPPFLAGS = $(NB_INTERNAL_INCLUDES)
tests_test_race_LDADD = $(NB_INTERNAL_LIBS)
# The fault injector: every reference to these functions in the objects of
# this one program (the library's included) goes to the shim's __wrap_*
# (tests/faultshim.h).
tests_test_faults_SOURCES = tests/test_faults.c tests/faultshim.c \
	tests/faultshim.h
tests_test_faults_CFLAGS = $(TEST_CFLAGS)
tests_test_faults_CPPFLAGS = $(NB_INTERNAL_INCLUDES)
tests_test_faults_LDADD = $(NB_INTERNAL_LIBS)
tests_test_faults_LDFLAGS = \
	-Wl,--wrap=socket -Wl,--wrap=setsockopt -Wl,--wrap=getsockopt \
	-Wl,--wrap=bind -Wl,--wrap=listen -Wl,--wrap=connect \
	-Wl,--wrap=accept4 -Wl,--wrap=getsockname -Wl,--wrap=getpeername \
	-Wl,--wrap=ioctl -Wl,--wrap=poll -Wl,--wrap=send -Wl,--wrap=recv \
	-Wl,--wrap=sendto -Wl,--wrap=recvfrom -Wl,--wrap=getaddrinfo \
	-Wl,--wrap=freeaddrinfo -Wl,--wrap=getservbyname_r -Wl,--wrap=lstat \
	-Wl,--wrap=unlink -Wl,--wrap=malloc -Wl,--wrap=free -Wl,--wrap=close
# Helper programs run by the shell tests (not tests themselves).
# -no-install: a real binary, no libtool wrapper script, so that strace
# sees the program itself.
TEST_PROBES = tests/connect_probe
tests_connect_probe_LDADD = lib/libnetbasics.la
tests_connect_probe_LDFLAGS = -no-install
else
check-local:
	@echo "make check needs the Check unit test framework (>= 0.11)." >&2
	@echo "Install it (Debian/Ubuntu: apt-get install check pkg-config)," >&2
	@echo "then run ./configure again." >&2
	@exit 1
endif

# make check-valgrind: memcheck over the unit tests, every leak an error,
# every descriptor tracked (tests/valgrind-fds.sh reads the logs after).
VALGRIND_memcheck_FLAGS = --leak-check=full --show-leak-kinds=all \
	--errors-for-leak-kinds=definite,indirect,possible --track-fds=yes

# ------------------------------------------ coverage and static analysis
# Run by CI, or by hand; never by `make check': each configures and builds
# the tree again in a temporary directory (instrumented for gcov; under
# scan-build), so they work from any build, configured with or without
# --enable-code-coverage.  tests/coverage.sh fails below 90% line coverage
# of lib/ and leaves its HTML report in coverage/html.
EXTRA_DIST += .clang-tidy tests/coverage.sh tests/static-analysis.sh

coverage:
	$(SHELL) $(top_srcdir)/tests/coverage.sh '$(abs_top_builddir)/coverage'
static-analysis:
	$(SHELL) $(top_srcdir)/tests/static-analysis.sh
.PHONY: coverage static-analysis
