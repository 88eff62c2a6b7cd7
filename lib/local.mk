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
	lib/connect.c \
	lib/deadline.c \
	lib/error.c \
	lib/io.c \
	lib/resolve.c \
	lib/socket.c \
	lib/tcp.c \
	lib/udp.c \
	lib/unix.c \
	lib/version.c
lib_libnetbasics_core_la_CPPFLAGS = $(AM_CPPFLAGS) -DNB_BUILDING_LIBRARY
lib_libnetbasics_core_la_CFLAGS = $(AM_CFLAGS) $(NB_VISIBILITY_CFLAGS)

lib_libnetbasics_la_SOURCES =
# An empty C source list still needs a linker language.
nodist_EXTRA_lib_libnetbasics_la_SOURCES = lib/dummy.c
lib_libnetbasics_la_LIBADD = lib/libnetbasics-core.la
lib_libnetbasics_la_LDFLAGS = -version-info $(NB_LT_VERSION) -no-undefined \
	-export-symbols-regex '^nb_[a-z]'
