# bench/local.mk - benchmarks.
# Built and run only on demand, never by `make all` or `make check`: they
# take minutes and want a quiet machine.  `make bench` runs them
# all.  The load generator they drive servers with is the load
# test's client, so it lives with the tests: tests/loadgen.
#
# bench/stats.c: what the three benchmark programs below share (clocks,
# the statistics of their rounds and their rows, arguments), built into
# each.
BENCH_SHARED = bench/stats.c bench/stats.h
# bench/connect_bench: nb_tcp_connect + nb_recv_all against raw system
# calls.  -no-install links the real executable (no libtool wrapper
# script), so strace and valgrind see the benchmark itself.
bench_connect_bench_SOURCES = bench/connect_bench.c $(BENCH_SHARED)
bench_connect_bench_LDADD = lib/libnetbasics.la -lm
bench_connect_bench_LDFLAGS = -no-install
# bench/connector_bench: nb_connector against a hand-written non-blocking
# connect, both in one epoll loop (bench/connector.sh runs it).
bench_connector_bench_SOURCES = bench/connector_bench.c $(BENCH_SHARED)
bench_connector_bench_LDADD = lib/libnetbasics.la -lm
bench_connector_bench_LDFLAGS = -no-install
# bench/resolve_bench: nb_resolve inline, on a helper thread (with a
# deadline), and getaddrinfo on a fresh joined thread, the floor of any
# thread-per-lookup design.
bench_resolve_bench_SOURCES = bench/resolve_bench.c $(BENCH_SHARED)
bench_resolve_bench_LDADD = lib/libnetbasics.la -lm
bench_resolve_bench_LDFLAGS = -no-install -pthread
# bench/raw_server is the hand-written baseline time-server is compared
# with.  It uses no library (nor does tests/loadgen).
SERVER_BENCH_PROGS = tests/loadgen bench/raw_server
bench_raw_server_SOURCES = bench/raw_server.c
BENCH_PROGS = bench/connect_bench bench/connector_bench bench/resolve_bench \
	bench/raw_server
EXTRA_PROGRAMS += $(BENCH_PROGS)
CLEANFILES += $(BENCH_PROGS)
EXTRA_DIST += bench/common.sh bench/connect.sh bench/connector.sh bench/resolve.sh \
	bench/RESULTS.md \
	bench/server_bench.sh bench/classic_server.py \
	bench/server-bench.png bench/server-bench.dat \
	bench/QUALITY-RESULTS.md

bench: bench-connect bench-connector bench-resolve bench-server
bench-connect: bench/connect_bench
	$(SHELL) $(top_srcdir)/bench/connect.sh '$(abs_top_builddir)'
bench-connector: bench/connector_bench
	$(SHELL) $(top_srcdir)/bench/connector.sh '$(abs_top_builddir)'
bench-resolve: bench/resolve_bench
	$(SHELL) $(top_srcdir)/bench/resolve.sh '$(abs_top_builddir)'
# BENCH_FLAGS: options for the script, e.g. make bench-server BENCH_FLAGS='-r 5'
bench-server: $(SERVER_BENCH_PROGS) examples/time-server
	$(SHELL) $(top_srcdir)/bench/server_bench.sh -b '$(abs_top_builddir)' $(BENCH_FLAGS)
check-load: tests/loadgen examples/time-server
	top_srcdir='$(top_srcdir)' top_builddir='$(top_builddir)' \
	    $(SHELL) $(top_srcdir)/tests/load.sh
.PHONY: bench bench-connect bench-connector bench-resolve bench-server check-load
