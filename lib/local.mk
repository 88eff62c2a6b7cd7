# lib/local.mk - libnetbasics, its header and its pkg-config file.
include_HEADERS = include/netbasics.h
lib_LTLIBRARIES = lib/libnetbasics.la
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = netbasics.pc

# The objects are built once into a convenience library: the shared and
# static libnetbasics are made from it, and so are the tests of internal
# functions (which the shared library, rightly, does not export).
noinst_LTLIBRARIES = lib/libnetbasics-core.la
lib_libnetbasics_core_la_SOURCES = \
	lib/internal.h \
	lib/activation.c \
	lib/addr.c \
	lib/args.c \
	lib/connect.c \
	lib/connector.c \
	lib/deadline.c \
	lib/error.c \
	lib/io.c \
	lib/lookup.c \
	lib/race.c \
	lib/resolve.c \
	lib/socket.c \
	lib/tcp.c \
	lib/tcpopt.c \
	lib/udp.c \
	lib/unix.c \
	lib/version.c
lib_libnetbasics_core_la_CPPFLAGS = $(AM_CPPFLAGS) -DNB_BUILDING_LIBRARY
lib_libnetbasics_core_la_CFLAGS = $(AM_CFLAGS) $(NB_VISIBILITY_CFLAGS)

lib_libnetbasics_la_SOURCES =
# An empty C source list still needs a linker language.
nodist_EXTRA_lib_libnetbasics_la_SOURCES = lib/dummy.c
lib_libnetbasics_la_LIBADD = lib/libnetbasics-core.la
lib_libnetbasics_la_LDFLAGS = -version-info $(NB_LT_VERSION) -no-undefined
# The exported names and their version nodes: one list, libnetbasics.sym.
NB_SYMBOL_FILE = $(top_srcdir)/lib/libnetbasics.sym
EXTRA_DIST += lib/libnetbasics.sym
EXTRA_lib_libnetbasics_la_DEPENDENCIES = $(NB_SYMBOL_FILE)
if NB_VERSION_SCRIPT
lib_libnetbasics_la_LDFLAGS += -Wl,--version-script=$(NB_SYMBOL_FILE)
else
# The names alone: -fvisibility=hidden already keeps nb__* helpers in.
lib_libnetbasics_la_LDFLAGS += -export-symbols-regex '^nb_[a-z]'
endif

# The binary interface against the last release's (abi/README).  Not part
# of `make check`: it needs libabigail's tools.  CI runs it.
NB_ABI_BASELINE = $(top_srcdir)/abi/libnetbasics.so.0.abi
EXTRA_DIST += abi/README abi/check-abi.sh $(NB_ABI_BASELINE)
check-abi: lib/libnetbasics.la
	$(SHELL) $(top_srcdir)/abi/check-abi.sh '$(NB_ABI_BASELINE)' \
	    lib/.libs/libnetbasics.so.0
# At a release only: renews the baseline from this build.
abi-baseline: lib/libnetbasics.la
	abidw --no-corpus-path --no-comp-dir-path lib/.libs/libnetbasics.so.0 \
	    > '$(NB_ABI_BASELINE)'
.PHONY: check-abi abi-baseline
