#!/usr/bin/env python3
"""udp-guard.py - datagrams for tests/udp-guard.sh: from well-known ports,
in floods, from many sources, and spoofed.  Loopback only; every wait is
bounded; nothing here sleeps to wait for something else.

    udp-guard.py canraw                   exit 0 when a raw IPv4 socket can
                                          be opened (root), else say why
    udp-guard.py canbind                  exit 0 when a port below 1024 can
                                          be bound, else say why
    udp-guard.py loopback                 a random address in 127.64/10, so
                                          that runs at the same time do not
                                          share one
    udp-guard.py wellknown HOST PORT ADDR SRCPORT...
                                          from ADDR:SRCPORT, for each SRCPORT,
                                          one empty datagram to HOST:PORT;
                                          prints "SRCPORT: no reply",
                                          "SRCPORT: reply N bytes" or
                                          "SRCPORT: cannot bind (why)"; then
                                          the same from an ephemeral port
                                          ("ephemeral: ...")
    udp-guard.py flood HOST PORT COUNT ADDR...
                                          COUNT empty datagrams from each
                                          ADDR (one socket each, as fast as
                                          they go), then the replies until
                                          none came for 300 ms; prints
                                          "sent S replies R per-source A,B..
                                          seconds E"
    udp-guard.py ask HOST PORT ADDR       one empty datagram from ADDR:0,
                                          the reply within 2 s: "reply N
                                          bytes after M ms" or "no reply"
    udp-guard.py spoof SRC SPORT DST DPORT [TEXT]
                                          one IPv4 UDP datagram from
                                          SRC:SPORT to DST:DPORT, made by
                                          hand on a raw socket (root)
    udp-guard.py reflector SECONDS        a UDP service on 127.0.0.1 that
                                          answers every datagram with "?";
                                          prints its port; at the end (or
                                          SIGTERM) "reflector answered N"
                                          on stderr
"""
import errno
import random
import select
import signal
import socket
import struct
import sys
import time

QUIET_S = 0.3       # no reply for this long: no more replies
FLOOD_MAX_S = 10.0  # the whole flood, replies included, at most


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def canraw():
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
    except OSError as e:
        sys.exit("no raw socket: %s (needs root or CAP_NET_RAW)" % e.strerror)


def canbind():
    for port in range(1023, 1000, -1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.1", port))
            return
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                sys.exit("cannot bind a port below 1024: %s (needs root or "
                         "CAP_NET_BIND_SERVICE)" % e.strerror)
        finally:
            s.close()
    sys.exit("ports 1001..1023 of 127.0.0.1 are all in use")


def loopback():
    print("127.%d.%d.%d" % (random.randint(64, 127), random.randint(0, 255),
                            random.randint(1, 254)))


def wait_reply(s, seconds):
    """The first datagram within `seconds`, or None."""
    if select.select([s], [], [], seconds)[0]:
        return s.recv(4096)
    return None


def one_try(host, port, addr, srcport):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    try:
        s.bind((addr, srcport))
    except OSError as e:
        s.close()
        return "cannot bind (%s)" % e.strerror
    s.sendto(b"", (host, port))
    data = wait_reply(s, QUIET_S)
    s.close()
    return "no reply" if data is None else "reply %d bytes" % len(data)


def wellknown(host, port, addr, srcports):
    for p in srcports:
        print("%d: %s" % (p, one_try(host, port, addr, p)), flush=True)
    print("ephemeral: %s" % one_try(host, port, addr, 0))


def flood(host, port, count, addrs):
    socks = []
    for a in addrs:
        s = socket.socket(family_of(a), socket.SOCK_DGRAM)
        s.bind((a, 0))
        s.setblocking(False)
        socks.append(s)
    start = time.monotonic()
    sent = 0
    for _ in range(count):
        for s in socks:
            try:
                s.sendto(b"", (host, port))
                sent += 1
            except BlockingIOError:
                pass  # a full send buffer: that datagram is not sent
    replies = [0] * len(socks)
    while time.monotonic() - start < FLOOD_MAX_S:
        ready = select.select(socks, [], [], QUIET_S)[0]
        if not ready:
            break
        for s in ready:
            try:
                while True:
                    s.recv(4096)
                    replies[socks.index(s)] += 1
            except BlockingIOError:
                pass
    print("sent %d replies %d per-source %s seconds %.3f" % (
        sent, sum(replies), ",".join(map(str, replies)),
        time.monotonic() - start))


def ask(host, port, addr):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    s.bind((addr, 0))
    start = time.monotonic()
    s.sendto(b"", (host, port))
    data = wait_reply(s, 2.0)
    if data is None:
        print("no reply")
    else:
        print("reply %d bytes after %d ms" % (
            len(data), (time.monotonic() - start) * 1000))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def spoof(src, sport, dst, dport, payload):
    """An IPv4 header and a UDP header, written here: the kernel sends the
    datagram as it is, with whatever source we put in."""
    length = 8 + len(payload)
    pseudo = (socket.inet_aton(src) + socket.inet_aton(dst) +
              struct.pack("!BBH", 0, socket.IPPROTO_UDP, length))
    udp = struct.pack("!HHHH", sport, dport, length, 0) + payload
    udp = struct.pack("!HHHH", sport, dport, length,
                      checksum(pseudo + udp) or 0xffff) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + length, 0, 0, 64,
                     socket.IPPROTO_UDP, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.sendto(ip + udp, (dst, 0))
    s.close()


def reflector(seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    answered = 0
    end = time.monotonic() + seconds
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([s], [], [], left)[0]:
                break
            _, peer = s.recvfrom(4096)
            s.sendto(b"?", peer)
            answered += 1
    finally:
        print("reflector answered %d" % answered, file=sys.stderr, flush=True)


def main():
    a = sys.argv[1:]
    if a == ["canraw"]:
        canraw()
    elif a == ["canbind"]:
        canbind()
    elif a == ["loopback"]:
        loopback()
    elif a[:1] == ["wellknown"] and len(a) >= 5:
        wellknown(a[1], int(a[2]), a[3], [int(p) for p in a[4:]])
    elif a[:1] == ["flood"] and len(a) >= 5:
        flood(a[1], int(a[2]), int(a[3]), a[4:])
    elif a[:1] == ["ask"] and len(a) == 4:
        ask(a[1], int(a[2]), a[3])
    elif a[:1] == ["spoof"] and len(a) in (5, 6):
        spoof(a[1], int(a[2]), a[3], int(a[4]),
              a[5].encode() if len(a) == 6 else b"")
    elif a[:1] == ["reflector"] and len(a) == 2:
        reflector(float(a[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
