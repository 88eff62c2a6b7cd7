/*
 * faultshim-calls.h - the one list of the functions the fault injector
 * wraps (tests/faultshim.h says how).  Everything else follows from it:
 * enum fs_call (FS_<NAME>), the names fs_call_name() prints, and the
 * declarations of __real_<name> and __wrap_<name> in faultshim.c; a
 * wrapper whose parameters differ from the list does not compile, and a
 * listed function without its __wrap_ does not link.
 *
 * X(NAME, name, return type, (parameter types))
 *
 * To wrap another function: add its line here, its -Wl,--wrap=name to
 * tests_test_faults_LDFLAGS in tests/local.mk (tests/faultshim-list.sh
 * checks that the two lists agree, and that every function lib/ calls is
 * either listed here or known not to fail), and its __wrap_name in
 * faultshim.c; errors it can return go into errno_table in test_faults.c.
 */
#ifndef NB_TEST_FAULTSHIM_CALLS_H
#define NB_TEST_FAULTSHIM_CALLS_H

#define FS_CALLS(X)                                                          \
    X(SOCKET, socket, int, (int, int, int))                                  \
    X(SETSOCKOPT, setsockopt, int, (int, int, int, const void *, socklen_t)) \
    X(GETSOCKOPT, getsockopt, int, (int, int, int, void *, socklen_t *))     \
    X(BIND, bind, int, (int, const struct sockaddr *, socklen_t))            \
    X(LISTEN, listen, int, (int, int))                                       \
    X(CONNECT, connect, int, (int, const struct sockaddr *, socklen_t))      \
    X(ACCEPT4, accept4, int, (int, struct sockaddr *, socklen_t *, int))     \
    X(GETSOCKNAME, getsockname, int, (int, struct sockaddr *, socklen_t *))  \
    X(GETPEERNAME, getpeername, int, (int, struct sockaddr *, socklen_t *))  \
    X(IOCTL, ioctl, int, (int, unsigned long, ...))                          \
    X(FCNTL, fcntl, int, (int, int, ...))                                    \
    X(POLL, poll, int, (struct pollfd *, nfds_t, int))                       \
    X(SEND, send, ssize_t, (int, const void *, size_t, int))                 \
    X(RECV, recv, ssize_t, (int, void *, size_t, int))                       \
    X(SENDTO, sendto, ssize_t,                                               \
      (int, const void *, size_t, int, const struct sockaddr *, socklen_t))  \
    X(RECVFROM, recvfrom, ssize_t,                                           \
      (int, void *, size_t, int, struct sockaddr *, socklen_t *))            \
    X(GETADDRINFO, getaddrinfo, int,                                         \
      (const char *, const char *, const struct addrinfo *,                  \
       struct addrinfo **))                                                  \
    X(FREEADDRINFO, freeaddrinfo, void, (struct addrinfo *))                 \
    X(GETSERVBYNAME_R, getservbyname_r, int,                                 \
      (const char *, const char *, struct servent *, char *, size_t,         \
       struct servent **))                                                   \
    X(IF_NAMETOINDEX, if_nametoindex, unsigned, (const char *))              \
    X(IF_INDEXTONAME, if_indextoname, char *, (unsigned, char *))            \
    X(LSTAT, lstat, int, (const char *, struct stat *))                      \
    X(UNLINK, unlink, int, (const char *))                                   \
    X(MALLOC, malloc, void *, (size_t))                                      \
    X(FREE, free, void, (void *))                                            \
    X(CLOSE, close, int, (int))                                              \
    X(EVENTFD, eventfd, int, (unsigned int, int))                            \
    X(EPOLL_CREATE1, epoll_create1, int, (int))                              \
    X(EPOLL_CTL, epoll_ctl, int, (int, int, int, struct epoll_event *))      \
    X(EPOLL_WAIT, epoll_wait, int, (int, struct epoll_event *, int, int))    \
    X(TIMERFD_CREATE, timerfd_create, int, (int, int))                       \
    X(TIMERFD_SETTIME, timerfd_settime, int,                                 \
      (int, int, const struct itimerspec *, struct itimerspec *))            \
    X(READ, read, ssize_t, (int, void *, size_t))                            \
    X(WRITE, write, ssize_t, (int, const void *, size_t))                    \
    X(PTHREAD_CREATE, pthread_create, int,                                   \
      (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))

#endif
