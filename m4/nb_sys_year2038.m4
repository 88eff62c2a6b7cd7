# nb_sys_year2038.m4 - large files and a 64-bit time_t, or a clear stop.
#
# NB_SYS_YEAR2038
# ---------------
# Arranges for off_t and time_t to be 64 bits wherever the C library can
# give them (the defines go to config.h, which every .c includes first):
#
#  - Autoconf 2.72 and later have AC_SYS_YEAR2038 (large files and a
#    64-bit time_t, an error when the latter is not possible, the option
#    --disable-year2038): it is used.  (Not tried here: Debian 12 has no
#    Autoconf 2.72.)
#  - Older Autoconf (Debian 12 has 2.71): AC_SYS_LARGEFILE for off_t,
#    then the check below for time_t.  Where time_t is narrower than 64
#    bits, glibc 2.34 and later widen it when _TIME_BITS is 64, which they
#    accept only together with _FILE_OFFSET_BITS=64.  So _TIME_BITS=64 is
#    tried (with _FILE_OFFSET_BITS=64) and kept when a compile-time
#    assertion then finds a 64-bit time_t.  musl (1.2 and later) and every
#    64-bit platform need nothing.
#
# Either way, the result is checked once more with config.h's defines
# (nb_cv_time_t_64): when time_t is still narrower than 64 bits, configure
# stops with one line saying so.  A time server that breaks in 2038 is not
# built without being asked: --disable-year2038 builds one anyway, with a
# warning, for systems whose C library has no 64-bit time_t.
#
# The cache variables nb_cv_sys_time_bits and nb_cv_time_t_64 may be
# preset (as tests/configure-requirements.sh does) to force either branch.

# _NB_TIME_T_64_PROGRAM
# ---------------------
# Compiles only when time_t holds 64 bits: a negative array size otherwise.
m4_define([_NB_TIME_T_64_PROGRAM],
[AC_LANG_PROGRAM([[#include <limits.h>
#include <time.h>
int nb_time_t_is_64_bits[sizeof(time_t) * CHAR_BIT >= 64 ? 1 : -1];
/* 2040-01-01 12:00:00 UTC, which a 32-bit time_t cannot hold */
int nb_2040_fits[(time_t) 2209032000LL == 2209032000LL ? 1 : -1];]], [])])

AC_DEFUN([NB_SYS_YEAR2038],
[m4_ifdef([AC_SYS_YEAR2038], [AC_SYS_YEAR2038], [_NB_SYS_YEAR2038])
AC_CACHE_CHECK([whether time_t is 64 bits], [nb_cv_time_t_64],
  [AC_COMPILE_IFELSE([_NB_TIME_T_64_PROGRAM],
     [nb_cv_time_t_64=yes], [nb_cv_time_t_64=no])])
AS_IF([test "x$nb_cv_time_t_64" != xyes],
  [AS_IF([test "x$enable_year2038" = xno],
     [AC_MSG_WARN([time_t is 32 bits (--disable-year2038): time-server and time-client will fail after 2038-01-19 03:14:07 UTC])
      nb_year2038_warning=yes],
     [AC_MSG_ERROR([time_t is 32 bits and $CC offers no 64-bit time_t (glibc 2.34 or later, or musl 1.2 or later, has one); --disable-year2038 builds anyway, broken after 2038])])])
])

# _NB_SYS_YEAR2038
# ----------------
# What AC_SYS_YEAR2038 does, for Autoconf before 2.72.
AC_DEFUN([_NB_SYS_YEAR2038],
[AC_REQUIRE([AC_SYS_LARGEFILE])dnl
AC_ARG_ENABLE([year2038],
  [AS_HELP_STRING([--disable-year2038],
    [build with a 32-bit time_t where the C library could give a 64-bit
     one (time-server then fails in 2038)])],
  [], [enable_year2038=yes])
AS_IF([test "x$enable_year2038" != xno],
[AC_CACHE_CHECK([for the macros that make time_t 64 bits],
  [nb_cv_sys_time_bits],
  [AC_COMPILE_IFELSE([_NB_TIME_T_64_PROGRAM],
     [nb_cv_sys_time_bits="none needed"],
     [nb_save_CPPFLAGS=$CPPFLAGS
      CPPFLAGS="$CPPFLAGS -D_FILE_OFFSET_BITS=64 -D_TIME_BITS=64"
      AC_COMPILE_IFELSE([_NB_TIME_T_64_PROGRAM],
        [nb_cv_sys_time_bits="_TIME_BITS=64"],
        [nb_cv_sys_time_bits=unavailable])
      CPPFLAGS=$nb_save_CPPFLAGS])])
 AS_CASE([$nb_cv_sys_time_bits],
   [_TIME_BITS=64],
     [AS_IF([test "x$ac_cv_sys_file_offset_bits" != x64],
        [AC_MSG_ERROR([a 64-bit time_t needs _FILE_OFFSET_BITS=64 here: configure without --disable-largefile])])
      AC_DEFINE([_TIME_BITS], [64],
        [Number of bits in time_t, on hosts where this is settable.])])])
])
