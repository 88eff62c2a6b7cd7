#!/usr/bin/env python3
"""classic_server.py - the daytime server as Python teaching material writes it.

socket, bind, listen, then forever: accept, send datetime.now() as text,
close.  The one addition to the textbook version: a client that reset its
connection is ignored instead of ending the server with ConnectionResetError.

    python3 classic_server.py [-H IPV4ADDR] [-p PORT]   (127.0.0.1, 9999)

Prints "classic-server: listening on ADDR:PORT" on stderr (-p 0: any port).
"""
import argparse
import datetime
import socket
import sys

parser = argparse.ArgumentParser()
parser.add_argument("-H", dest="host", default="127.0.0.1")
parser.add_argument("-p", dest="port", type=int, default=9999)
args = parser.parse_args()

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((args.host, args.port))
server.listen(512)
print("classic-server: listening on %s:%d (stream)" % server.getsockname(),
      file=sys.stderr, flush=True)

while True:
    conn, addr = server.accept()
    try:
        # strftime, not str(): str() drops ".ffffff" when microsecond == 0
        now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.sendall((now + "\r\n").encode("ascii"))
    except OSError:
        pass
    finally:
        conn.close()
