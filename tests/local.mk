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
	tests/test_eyeballs \
	tests/test_signals \
	tests/test_emfile \
	tests/test_threads \
	tests/test_fds \
	tests/test_scope \
	tests/test_timeproto \
	tests/test_recv \
	tests/test_dgram \
	tests/test_messages \
	tests/test_udpguard \
	tests/test_connector \
	tests/test_connector_uv \
	tests/test_resolve \
	tests/test_lookup

SHELL_TESTS = \
	tests/exports.sh \
	tests/header.sh \
	tests/header-cxx.sh \
	tests/faultshim-list.sh \
	tests/readme-example.sh \
	tests/examples-interop.sh \
	tests/basic-examples.sh \
	tests/example-options.sh \
	tests/udp-guard.sh \
	tests/connect-syscalls.sh \
	tests/connector-syscalls.sh \
	tests/manpages.sh \
	tests/man-examples.sh \
	tests/tutorial.sh \
	tests/systemd-units.sh \
	tests/load.sh \
	tests/fuzz-replay.sh \
	tests/layering.sh \
	tests/header-abi.sh \
	tests/time64-symbols.sh \
	tests/configure-requirements.sh \
	tests/nodiscard.sh \
	tests/man-int-args.sh \
	tests/accept-loop-example.sh \
	tests/install-docs.sh

TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(top_srcdir)'; top_builddir='$(top_builddir)'; \
	CC='$(CC)'; NB_SANITIZER_FLAGS='$(NB_SANITIZER_FLAGS) $(NB_FUZZ_CFLAGS)'; \
	export top_srcdir top_builddir CC NB_SANITIZER_FLAGS;
EXTRA_DIST += $(SHELL_TESTS) tests/valgrind-fds.sh tests/README \
	tests/abi-compat.sh tests/abi/program-0.1.c
# Sourced by the shell tests, not tests themselves.
EXTRA_DIST += tests/lib.sh tests/syscalls-lib.sh
# Programs the shell tests of the examples run with python3.
EXTRA_DIST += \
	tests/activate.py \
	tests/classic-client.py \
	tests/classic-server.py \
	tests/interop-clients.py \
	tests/udp-guard.py

# The load test's client (tests/load.sh; bench/server_bench.sh drives the
# benchmark's servers with it too): an epoll load generator that uses no
# library.  Outside the HAVE_CHECK conditional: the benchmark needs it
# without Check as well.
check_PROGRAMS += tests/loadgen
tests_loadgen_SOURCES = tests/loadgen.c
tests/load.log: examples/time-server

# Tests of internal (nb__*) functions link the convenience library, whose
# objects are the very ones the shared library is made of.
INTERNAL_TESTS = \
	tests/test_race \
	tests/test_faults \
	tests/test_tcpopt \
	tests/test_connector_now

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
tests_test_eyeballs_CFLAGS = $(TEST_CFLAGS)
tests_test_eyeballs_LDADD = $(TEST_LIBS)
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
# The examples' time formatting past 2038 (examples/timeproto.c itself,
# compiled into the test with the flags config.h gives every program).
tests_test_timeproto_SOURCES = tests/test_timeproto.c \
	examples/timeproto.c examples/timeproto.h
tests_test_timeproto_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/examples
tests_test_timeproto_CFLAGS = $(TEST_CFLAGS)
tests_test_timeproto_LDADD = $(TEST_LIBS)
tests_test_recv_CFLAGS = $(TEST_CFLAGS)
tests_test_recv_LDADD = $(TEST_LIBS)
tests_test_dgram_CFLAGS = $(TEST_CFLAGS)
tests_test_dgram_LDADD = $(TEST_LIBS)
tests_test_messages_CFLAGS = $(TEST_CFLAGS)
tests_test_messages_LDADD = $(TEST_LIBS)
# The UDP guard of time-server, and the time protocols it reads, are
# compiled into the test: they belong to the examples, not the library.
tests_test_udpguard_SOURCES = tests/test_udpguard.c \
	examples/udpguard.c examples/udpguard.h examples/siphash.c \
	examples/siphash.h $(EXAMPLE_SOURCES)
tests_test_udpguard_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/examples
tests_test_udpguard_CFLAGS = $(TEST_CFLAGS)
tests_test_udpguard_LDADD = $(TEST_LIBS)
tests_test_connector_CFLAGS = $(TEST_CFLAGS)
tests_test_connector_LDADD = $(TEST_LIBS)
# Connectors in libuv's event loop (no Check runner; the helpers that
# never assert).  Without libuv a stub says so and exits 77: the test
# stays in the list, reported as skipped.
if HAVE_UV
tests_test_connector_uv_SOURCES = tests/test_connector_uv.c
tests_test_connector_uv_CFLAGS = $(TEST_CFLAGS) $(UV_CFLAGS)
tests_test_connector_uv_LDADD = $(TEST_LIBS) $(UV_LIBS)
else
tests_test_connector_uv_SOURCES = tests/test_connector_uv_skip.c
endif
tests_test_resolve_CFLAGS = $(TEST_CFLAGS)
tests_test_resolve_LDADD = $(TEST_LIBS)
tests_test_lookup_CFLAGS = $(TEST_CFLAGS)
tests_test_lookup_LDADD = $(TEST_LIBS)
tests_test_race_CFLAGS = $(TEST_CFLAGS)
tests_test_race_CPPFLAGS = $(NB_INTERNAL_INCLUDES)
tests_test_race_LDADD = $(NB_INTERNAL_LIBS)
# The fault injector: every reference to these functions in the objects of
# this one program (the library's included) goes to the shim's __wrap_*
# (tests/faultshim.h).  One --wrap for each function of the list in
# tests/faultshim-calls.h, in its order; tests/faultshim-list.sh checks
# that the two agree and that lib/ calls no function missing from both.
tests_test_faults_SOURCES = tests/test_faults.c tests/faultshim.c \
	tests/faultshim.h tests/faultshim-calls.h
tests_test_faults_CFLAGS = $(TEST_CFLAGS)
tests_test_faults_CPPFLAGS = $(NB_INTERNAL_INCLUDES)
tests_test_faults_LDADD = $(NB_INTERNAL_LIBS)
tests_test_faults_LDFLAGS = \
	-Wl,--wrap=socket -Wl,--wrap=setsockopt -Wl,--wrap=getsockopt \
	-Wl,--wrap=bind -Wl,--wrap=listen -Wl,--wrap=connect \
	-Wl,--wrap=accept4 -Wl,--wrap=getsockname -Wl,--wrap=getpeername \
	-Wl,--wrap=ioctl -Wl,--wrap=fcntl -Wl,--wrap=poll -Wl,--wrap=send \
	-Wl,--wrap=recv -Wl,--wrap=sendto -Wl,--wrap=recvfrom \
	-Wl,--wrap=getaddrinfo -Wl,--wrap=freeaddrinfo \
	-Wl,--wrap=getservbyname_r -Wl,--wrap=if_nametoindex \
	-Wl,--wrap=if_indextoname -Wl,--wrap=lstat -Wl,--wrap=unlink \
	-Wl,--wrap=malloc -Wl,--wrap=free -Wl,--wrap=close \
	-Wl,--wrap=eventfd -Wl,--wrap=epoll_create1 -Wl,--wrap=epoll_ctl \
	-Wl,--wrap=epoll_wait -Wl,--wrap=timerfd_create \
	-Wl,--wrap=timerfd_settime -Wl,--wrap=read -Wl,--wrap=write \
	-Wl,--wrap=pthread_create
# nb_tcp_keepalive and nb_tcp_user_timeout, with setsockopt(2) made to
# fail on demand (tests/test_tcpopt.c says why it links the objects).
tests_test_tcpopt_CFLAGS = $(TEST_CFLAGS)
tests_test_tcpopt_CPPFLAGS = $(NB_INTERNAL_INCLUDES)
tests_test_tcpopt_LDADD = $(NB_INTERNAL_LIBS)
tests_test_tcpopt_LDFLAGS = -Wl,--wrap=setsockopt
# connect(2) wrapped, to finish inside the call (see the test).
tests_test_connector_now_CFLAGS = $(TEST_CFLAGS)
tests_test_connector_now_CPPFLAGS = $(NB_INTERNAL_INCLUDES)
tests_test_connector_now_LDADD = $(NB_INTERNAL_LIBS)
tests_test_connector_now_LDFLAGS = -Wl,--wrap=connect
# Helper programs run by the shell tests (not tests themselves).
# -no-install: a real binary, no libtool wrapper script, so that strace
# sees the program itself.
# tests/syscall_probe: one nb_tcp_connect or nb_connector between two
# markers, for connect-syscalls.sh and connector-syscalls.sh.
TEST_PROBES = tests/syscall_probe
tests_syscall_probe_LDADD = lib/libnetbasics.la
tests_syscall_probe_LDFLAGS = -no-install
else
check-local:
	@echo "make check needs the Check unit test framework (>= 0.11)." >&2
	@echo "Install it (Debian/Ubuntu: apt-get install check pkg-config)," >&2
	@echo "then run ./configure again." >&2
	@exit 1
endif

# make check-interop: tests/examples-interop.sh alone, against the
# examples as built, without Check or anything else `make check' needs:
# for builds where Check is not available (the musl build in CI).
check-interop: $(noinst_PROGRAMS)
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	    $(SHELL) $(top_srcdir)/tests/examples-interop.sh
.PHONY: check-interop

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
EXTRA_DIST += .clang-tidy tests/coverage.sh tests/static-analysis.sh \
	tests/fresh-tree.sh

coverage:
	$(SHELL) $(top_srcdir)/tests/coverage.sh '$(abs_top_builddir)/coverage'
static-analysis:
	$(SHELL) $(top_srcdir)/tests/static-analysis.sh
.PHONY: coverage static-analysis
