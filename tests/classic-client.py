#!/usr/bin/env python3
"""classic-client.py - the classic teaching time client, in Python.

    classic-client.py [-u] HOST PORT

TCP: socket(), connect(), recv() until the server closes, print what came.
UDP (-u): send one empty datagram, print the one that comes back.
The reply is written to stdout byte for byte (CRLF included), so that the
caller can check it exactly.  Every wait is bounded (5 s).
"""
import socket
import sys


def main():
    args = sys.argv[1:]
    udp = args[:1] == ["-u"]
    if udp:
        args = args[1:]
    if len(args) != 2:
        sys.exit("usage: classic-client.py [-u] HOST PORT")
    host, port = args[0], int(args[1])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    if udp:
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.settimeout(5)
        s.sendto(b"", (host, port))
        data, _ = s.recvfrom(2048)
    else:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect((host, port))
        data = b""
        while True:
            chunk = s.recv(1024)
            if not chunk:
                break
            data += chunk
    s.close()
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
