#!/usr/bin/env python3
"""activate.py - a minimal socket-activation launcher (the sd_listen_fds(3)
protocol), for tests/examples-interop.sh.

    activate.py PORTFILE PROGRAM [ARG...]

Creates a TCP listener on 127.0.0.1 port 0 and a UDP socket on 127.0.0.1
port 0, writes "TCPPORT UDPPORT" to PORTFILE, puts the sockets on
descriptors 3 and 4, sets LISTEN_FDS=2 and LISTEN_PID to its own pid and
execs PROGRAM in its place (the same pid, as systemd does).
"""
import fcntl
import os
import socket
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    portfile, argv = sys.argv[1], sys.argv[2:]

    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(16)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    with open(portfile, "w") as f:
        f.write("%d %d\n" % (tcp.getsockname()[1], udp.getsockname()[1]))

    # Out of the way first, so that placing one cannot clobber the other.
    high = [fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 100) for s in (tcp, udp)]
    tcp.close()
    udp.close()
    for target, fd in zip((3, 4), high):
        os.dup2(fd, target)  # inheritable
        os.close(fd)

    env = dict(os.environ, LISTEN_FDS="2", LISTEN_PID=str(os.getpid()))
    env.pop("LISTEN_FDNAMES", None)
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    main()
