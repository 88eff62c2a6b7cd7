#!/usr/bin/env python3
"""interop-clients.py - clients that misbehave, or ask many times, for
tests/examples-interop.sh.  Every wait is bounded.

    interop-clients.py reset HOST PORT N     N connections, all reset at once
                                             (SO_LINGER 0, then close)
    interop-clients.py hold HOST PORT N SEC  N connections never read for SEC
                                             seconds; "connected" once open
    interop-clients.py udp HOST PORT SIZE... a datagram of SIZE junk bytes
                                             for each SIZE; prints
                                             "SIZE: reply N BYTES" or
                                             "SIZE: no reply" (1 s) for each
    interop-clients.py many HOST PORT N      N connections one after the
                                             other, each must get a daytime
                                             line; prints "N ok" or the first
                                             failure and exits 1
    interop-clients.py freeport              a TCP port on 127.0.0.1 that was
                                             free a moment ago
    interop-clients.py closedport SEC        a TCP port on 127.0.0.1 bound but
                                             not listening for SEC seconds: a
                                             connection to it is refused, and
                                             no other program can take it
"""
import re
import socket
import struct
import sys
import time

DAYTIME = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\r\n$")


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def reset(host, port, n):
    socks = []
    for _ in range(n):
        s = socket.socket(family_of(host), socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((host, port))
        socks.append(s)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
    print("%d reset" % n)


def hold(host, port, n, seconds):
    socks = []
    for _ in range(n):
        s = socket.socket(family_of(host), socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
        s.settimeout(5)
        s.connect((host, port))
        socks.append(s)
    print("connected", flush=True)
    time.sleep(seconds)
    for s in socks:
        s.close()


def udp(host, port, sizes):
    for size in sizes:
        s = socket.socket(family_of(host), socket.SOCK_DGRAM)
        s.settimeout(1)
        s.sendto(b"\xff" * size, (host, port))
        try:
            data, _ = s.recvfrom(4096)
            print("%d: reply %d %r" % (size, len(data), data))
        except socket.timeout:
            print("%d: no reply" % size)
        s.close()


def many(host, port, n):
    for i in range(n):
        s = socket.socket(family_of(host), socket.SOCK_STREAM)
        s.settimeout(5)
        data = b""
        try:
            s.connect((host, port))
            while True:
                chunk = s.recv(1024)
                if not chunk:
                    break
                data += chunk
        except OSError as e:
            print("connection %d of %d: %s" % (i + 1, n, e))
            sys.exit(1)
        finally:
            s.close()
        if not DAYTIME.match(data):
            print("connection %d of %d: got %r, want a daytime line"
                  % (i + 1, n, data))
            sys.exit(1)
    print("%d ok" % n)


def freeport():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def closedport(seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    time.sleep(seconds)
    s.close()


def main():
    a = sys.argv[1:]
    if a[:1] == ["reset"] and len(a) == 4:
        reset(a[1], int(a[2]), int(a[3]))
    elif a[:1] == ["hold"] and len(a) == 5:
        hold(a[1], int(a[2]), int(a[3]), float(a[4]))
    elif a[:1] == ["udp"] and len(a) >= 4:
        udp(a[1], int(a[2]), [int(n) for n in a[3:]])
    elif a[:1] == ["many"] and len(a) == 4:
        many(a[1], int(a[2]), int(a[3]))
    elif a == ["freeport"]:
        freeport()
    elif a[:1] == ["closedport"] and len(a) == 2:
        closedport(float(a[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
