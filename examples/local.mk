# examples/local.mk - the example programs.  Built by `make`; the
# programs are not installed, their sources are, in $(docdir)/examples,
# beside the tutorial that leads to them.  Every source file of examples/
# must be listed in dist_example_DATA: tests/install-docs.sh compares the
# list with the directory.
noinst_PROGRAMS += examples/time-server examples/time-client
EXAMPLE_SOURCES = examples/timeproto.c examples/timeproto.h
examples_time_server_SOURCES = examples/time-server.c $(EXAMPLE_SOURCES)
examples_time_server_LDADD = lib/libnetbasics.la
examples_time_client_SOURCES = examples/time-client.c $(EXAMPLE_SOURCES)
examples_time_client_LDADD = lib/libnetbasics.la
# The sources, installed for reading; the systemd socket activation units
# of time-server (checked by tests/systemd-units.sh) with them.
exampledir = $(docdir)/examples
dist_example_DATA = \
	examples/time-client.c \
	examples/time-server.c \
	examples/timeproto.c \
	examples/timeproto.h \
	examples/time-server.socket \
	examples/time-server.service
