#!/usr/bin/env python3
"""A TCP proxy in front of an S3 server that misbehaves on demand, for the S3 store's fault tests.

usage: s3_fault_proxy.py UPSTREAM_PORT MODE_FILE
Listens on a free 127.0.0.1 port and prints it on stdout (one line), then serves until killed.
Each new connection reads MODE_FILE (one word) and behaves accordingly:
  pass        forward bytes both ways to 127.0.0.1:UPSTREAM_PORT (the real server)
  blackhole   accept, read, never answer
  drip        answer a valid-looking reply one byte a second
  garbage     answer bytes that are not HTTP, then close
  truncate    answer 200 with Content-Length 4096 and 10 body bytes, then close
  status:N    answer HTTP status N with an S3 <Error> body (404: NoSuchBucket, 503: SlowDown)
  reset       close at once without answering
  keepalive   answer every request on the connection with an empty 404, keeping it open
Every accepted connection is counted in MODE_FILE.connections (one number), to check reuse.
"""
import socket
import sys
import threading
import time

upstream_port = int(sys.argv[1])
mode_file = sys.argv[2]

REASONS = {403: ("Forbidden", "AccessDenied", "Access Denied"),
           404: ("Not Found", "NoSuchBucket", "The specified bucket does not exist"),
           500: ("Internal Server Error", "InternalError", "We encountered an internal error."),
           503: ("Slow Down", "SlowDown", "Please reduce your request rate.")}


def mode():
    try:
        with open(mode_file) as f:
            return f.read().strip() or "pass"
    except OSError:
        return "pass"


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def read_request(conn):
    conn.settimeout(2)
    try:
        return conn.recv(65536)
    except OSError:
        return b""


def serve(conn):
    m = mode()
    try:
        if m == "keepalive":
            pending = b""
            while True:
                while b"\r\n\r\n" not in pending:
                    data = conn.recv(65536)
                    if not data:
                        return
                    pending += data
                pending = pending.split(b"\r\n\r\n", 1)[1]
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        if m == "pass":
            up = socket.create_connection(("127.0.0.1", upstream_port))
            threading.Thread(target=pipe, args=(up, conn), daemon=True).start()
            pipe(conn, up)
            return
        if m == "blackhole":
            conn.settimeout(None)
            while conn.recv(65536):
                pass
            return
        read_request(conn)
        if m == "reset":
            pass
        elif m == "drip":
            for b in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n":
                conn.sendall(bytes([b]))
                time.sleep(1)
        elif m == "garbage":
            conn.sendall(b"\x00\x17garbage, not HTTP at all\xff\xfe\r\n\r\n")
        elif m == "truncate":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\nContent-Type: application/octet-stream\r\n\r\n0123456789")
        elif m.startswith("status:"):
            code = int(m.split(":")[1])
            reason, s3code, message = REASONS.get(code, ("Error", "Error", "error"))
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code><Message>%s</Message></Error>"
                    % (s3code, message)).encode()
            conn.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                         % (code, reason.encode(), len(body)) + body)
    except OSError:
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    accepted = 0
    while True:
        conn, _ = listener.accept()
        accepted += 1
        with open(mode_file + ".connections", "w") as f:
            f.write("%d\n" % accepted)
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()
