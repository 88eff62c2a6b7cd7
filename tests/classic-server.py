#!/usr/bin/env python3
"""classic-server.py - the classic teaching time server, in Python.

    classic-server.py [-u] [-P daytime|time] [--value N] [--silent] [--short]

Binds 127.0.0.1 port 0 (TCP, or UDP with -u), prints the port on stdout
and serves until killed.  Each TCP client gets one reply and the
connection is closed; each UDP datagram gets one reply datagram.

  -P daytime  str(datetime.now()) + CRLF (the default)
  -P time     RFC 868: 32-bit big-endian seconds since 1900
  --value N   with -P time: send N (decimal or 0x...) instead of now
  --silent    accept and hold the connection (or read the datagram) but
              never answer
  --short     send only the first 3 bytes of the reply
"""
import argparse
import datetime
import socket
import struct
import time

RFC868_OFFSET = 2208988800  # seconds from 1900-01-01 to 1970-01-01


def reply(args):
    if args.P == "time":
        value = args.value
        if value is None:
            value = (int(time.time()) + RFC868_OFFSET) & 0xFFFFFFFF
        data = struct.pack("!I", value)
    else:
        data = (str(datetime.datetime.now()) + "\r\n").encode()
    return data[:3] if args.short else data


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-u", action="store_true", help="UDP instead of TCP")
    p.add_argument("-P", choices=("daytime", "time"), default="daytime")
    p.add_argument("--value", type=lambda s: int(s, 0))
    p.add_argument("--silent", action="store_true")
    p.add_argument("--short", action="store_true")
    args = p.parse_args()

    if args.u:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1], flush=True)
        while True:
            _, peer = s.recvfrom(2048)
            if not args.silent:
                s.sendto(reply(args), peer)

    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(5)
    print(s.getsockname()[1], flush=True)
    held = []
    while True:
        conn, _ = s.accept()
        if args.silent:
            held.append(conn)  # never answered, never closed
            continue
        conn.sendall(reply(args))
        conn.close()


if __name__ == "__main__":
    main()
