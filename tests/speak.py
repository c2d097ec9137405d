#!/usr/bin/env python3
"""IPv6 clients that speak a real protocol, for the receiver tests.

    speak.py PROTOCOL PORT   connects to [::1]:PORT, has one short, normal
        session, and prints "port N" (its own port, which the receiver must
        log) and then what the server answered that names the client

PROTOCOL: smtp (EHLO, one message if the recipient is taken, QUIT), imap (STARTTLS, then LOGOUT
over TLS), http, https (GET /), line (sends a line, prints the
answer up to the server's end).
Certificates are not checked: the servers' are made by the tests. Every
wait is bounded.
"""
import smtplib
import socket
import ssl
import sys

TIMEOUT = 20


def tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def connect(port):
    s = socket.create_connection(("::1", port), timeout=TIMEOUT)
    print("port", s.getsockname()[1], flush=True)
    return s


def smtp(port):
    c = smtplib.SMTP(timeout=TIMEOUT)
    c.connect("::1", port)
    print("port", c.sock.getsockname()[1], flush=True)
    code, text = c.ehlo("client.example")
    print("ehlo", code, text.decode().split("\n")[0])
    print("mail", c.mail("alice@client.example")[0])
    code = c.rcpt("bob@example.org")[0]
    print("rcpt", code)
    if code == 250:
        print("data", c.data(b"Subject: v6fwd\r\n\r\nhello\r\n")[0])
    c.quit()


def readline(f):
    line = f.readline()
    if not line:
        sys.exit("connection closed")
    return line.decode().rstrip("\r\n")


def imap(port):
    s = connect(port)
    f = s.makefile("rb")
    print(readline(f))
    s.sendall(b"a STARTTLS\r\n")
    print(readline(f))
    t = tls().wrap_socket(s)
    f = t.makefile("rb")
    t.sendall(b"b LOGOUT\r\n")
    print(readline(f))
    print(readline(f))


def http(port, secure):
    s = connect(port)
    if secure:
        s = tls().wrap_socket(s)
    s.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
    reply = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        reply += b
    head, _, body = reply.partition(b"\r\n\r\n")
    print(head.decode().split("\r\n")[0])
    print(body.decode().strip())


def line(port):
    s = connect(port)
    s.sendall(b"hello\n")
    for answer in s.makefile("rb"):
        print(answer.decode().rstrip("\r\n"))


def main():
    proto, port = sys.argv[1], int(sys.argv[2])
    if proto == "smtp":
        smtp(port)
    elif proto == "imap":
        imap(port)
    elif proto in ("http", "https"):
        http(port, proto == "https")
    elif proto == "line":
        line(port)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
