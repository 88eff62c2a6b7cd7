# examples/local.mk - the example programs.  Built by `make`; the
# programs are not installed, their sources are, in $(docdir)/examples,
# beside the tutorial that leads to them.  Every source file of examples/
# must be listed in dist_example_DATA: tests/install-docs.sh compares the
# list with the directory.
noinst_PROGRAMS += examples/basic-time-server examples/basic-time-client \
	examples/time-server examples/time-client
# The first two are what a learner reads first: one file each, the library
# and libc only (tests/basic-examples.sh keeps them under 50 lines).
# They do not include config.h (a copy builds alone), so the build gives it
# to them: its _TIME_BITS=64 on 32-bit systems (README, "Supported
# platforms").
examples_basic_time_server_SOURCES = examples/basic-time-server.c
examples_basic_time_server_CPPFLAGS = $(AM_CPPFLAGS) -include config.h
examples_basic_time_server_LDADD = lib/libnetbasics.la
examples_basic_time_client_SOURCES = examples/basic-time-client.c
examples_basic_time_client_CPPFLAGS = $(AM_CPPFLAGS) -include config.h
examples_basic_time_client_LDADD = lib/libnetbasics.la
EXAMPLE_SOURCES = examples/timeproto.c examples/timeproto.h
# time-server in parts; time-server.h lists them.
examples_time_server_SOURCES = examples/time-server.c examples/time-server.h \
	examples/server-sockets.c examples/server-loop.c \
	examples/server-workers.c examples/udpguard.c examples/udpguard.h \
	examples/siphash.c examples/siphash.h $(EXAMPLE_SOURCES)
examples_time_server_LDADD = lib/libnetbasics.la
examples_time_client_SOURCES = examples/time-client.c examples/time-client.h \
	examples/time-client-many.c $(EXAMPLE_SOURCES)
examples_time_client_LDADD = lib/libnetbasics.la
# The sources, installed for reading; the systemd socket activation units
# of time-server (checked by tests/systemd-units.sh) with them.
exampledir = $(docdir)/examples
dist_example_DATA = \
	examples/basic-time-client.c \
	examples/basic-time-server.c \
	examples/time-client.c \
	examples/time-client.h \
	examples/time-client-many.c \
	examples/time-server.c \
	examples/time-server.h \
	examples/server-sockets.c \
	examples/server-loop.c \
	examples/server-workers.c \
	examples/udpguard.c \
	examples/udpguard.h \
	examples/siphash.c \
	examples/siphash.h \
	examples/timeproto.c \
	examples/timeproto.h \
	examples/time-server.socket \
	examples/time-server.service
