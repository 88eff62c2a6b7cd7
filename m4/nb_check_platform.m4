# nb_check_platform.m4 - what libnetbasics needs from the system, checked
# before anything is built, each missing piece named in one line.
#
# NB_CHECK_PLATFORM
# -----------------
# Supported: Linux, with glibc 2.34 or later or with musl (README,
# "Supported platforms").  Checked, in this order:
#   - Linux itself (__linux__).  Abstract Unix sockets (nb_unix_*("@name"))
#     exist only there and cannot be probed at compile time: being on
#     Linux is the check for them.
#   - glibc 2.34 or later when the C library is glibc (another C library,
#     musl, is judged by the checks that follow);
#   - accept4, SOCK_CLOEXEC, SOCK_NONBLOCK and MSG_NOSIGNAL (sockets);
#   - epoll_create1, timerfd_create and eventfd (the connector);
#   - pthread_create in the C library itself, without -lpthread (glibc
#     2.34 or later, musl): netbasics.pc names no library but -lnetbasics.
# Every check caches its answer in an nb_cv_* variable; presetting one
# (./configure nb_cv_have_accept4=no) forces that branch, which is how
# tests/configure-requirements.sh checks the messages.

# _NB_PLATFORM_ERROR(WHAT)
# ------------------------
m4_define([_NB_PLATFORM_ERROR],
[AC_MSG_ERROR([$1 not found; libnetbasics needs Linux with glibc 2.34 or later, or musl (see "Supported platforms" in README)])])

# _NB_REQUIRE(WHAT, CACHE-VARIABLE, AC_LINK_IFELSE | AC_COMPILE_IFELSE,
#             PROLOGUE, BODY)
# -----------------------------------------------------------------------
m4_define([_NB_REQUIRE],
[AC_CACHE_CHECK([for $1], [$2],
  [$3([AC_LANG_PROGRAM([$4], [$5])], [$2=yes], [$2=no])])
AS_IF([test "x$$2" != xyes], [_NB_PLATFORM_ERROR([$1])])])

AC_DEFUN([NB_CHECK_PLATFORM],
[AC_REQUIRE([AC_USE_SYSTEM_EXTENSIONS])dnl
AC_CACHE_CHECK([whether the target is Linux], [nb_cv_sys_linux],
  [AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[
#ifndef __linux__
#error not Linux
#endif
]], [])], [nb_cv_sys_linux=yes], [nb_cv_sys_linux=no])])
AS_IF([test "x$nb_cv_sys_linux" != xyes],
  [AC_MSG_ERROR([Linux not found ($CC does not define __linux__); libnetbasics needs Linux: abstract Unix sockets, accept4, epoll, timerfd and eventfd (see "Supported platforms" in README)])])

AC_CACHE_CHECK([for the glibc version], [nb_cv_glibc_version],
  [AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <limits.h>
#ifndef __GLIBC__
#error not glibc
#endif
]], [])],
     [AC_COMPUTE_INT([nb_glibc_major], [__GLIBC__], [[#include <limits.h>]])
      AC_COMPUTE_INT([nb_glibc_minor], [__GLIBC_MINOR__], [[#include <limits.h>]])
      nb_cv_glibc_version=$nb_glibc_major.$nb_glibc_minor],
     [nb_cv_glibc_version="none (not glibc)"])])
AS_CASE([$nb_cv_glibc_version],
  [none*], [],
  [AS_VERSION_COMPARE([$nb_cv_glibc_version], [2.34],
     [AC_MSG_ERROR([glibc 2.34 or later not found (this is glibc $nb_cv_glibc_version); libnetbasics needs Linux with glibc 2.34 or later, or musl (see "Supported platforms" in README)])])])

_NB_REQUIRE([accept4], [nb_cv_have_accept4], [AC_LINK_IFELSE],
  [[#include <stddef.h>
#include <sys/socket.h>]],
  [[return accept4(-1, NULL, NULL, 0);]])
_NB_REQUIRE([SOCK_CLOEXEC], [nb_cv_have_sock_cloexec], [AC_COMPILE_IFELSE],
  [[#include <sys/socket.h>]], [[return SOCK_CLOEXEC;]])
_NB_REQUIRE([SOCK_NONBLOCK], [nb_cv_have_sock_nonblock], [AC_COMPILE_IFELSE],
  [[#include <sys/socket.h>]], [[return SOCK_NONBLOCK;]])
_NB_REQUIRE([MSG_NOSIGNAL], [nb_cv_have_msg_nosignal], [AC_COMPILE_IFELSE],
  [[#include <sys/socket.h>]], [[return MSG_NOSIGNAL;]])
_NB_REQUIRE([epoll_create1], [nb_cv_have_epoll_create1], [AC_LINK_IFELSE],
  [[#include <sys/epoll.h>]], [[return epoll_create1(EPOLL_CLOEXEC);]])
_NB_REQUIRE([timerfd_create], [nb_cv_have_timerfd_create], [AC_LINK_IFELSE],
  [[#include <time.h>
#include <sys/timerfd.h>]],
  [[return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);]])
_NB_REQUIRE([eventfd], [nb_cv_have_eventfd], [AC_LINK_IFELSE],
  [[#include <sys/eventfd.h>]], [[return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);]])
_NB_REQUIRE([pthread_create in the C library], [nb_cv_have_pthread_in_libc],
  [AC_LINK_IFELSE],
  [[#include <pthread.h>
#include <stddef.h>
static void *nb_run(void *arg) { return arg; }]],
  [[pthread_t t;
if (pthread_create(&t, NULL, nb_run, NULL) != 0)
    return 1;
return pthread_join(t, NULL);]])
])
