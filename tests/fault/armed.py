"""For tests/integration/fault_sweep.sh: ASTRID_FAULT_ARM=accept.

usage: armed.py SOCKET FILE
Writes FILE once, then twice more each after accepting a connection of its
own on SOCKET; prints "ok" or the error of each write, in order. Under the
shim armed at accept, the first write is not counted and the second is the
first counted one.
"""
import os
import socket
import sys


def write_once(path):
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"x")
        finally:
            os.close(fd)
        return "ok"
    except OSError as e:
        return e.strerror


server = socket.socket(socket.AF_UNIX)
server.bind(sys.argv[1])
server.listen(2)
out = [write_once(sys.argv[2])]
for _ in range(2):
    client = socket.socket(socket.AF_UNIX)
    client.connect(sys.argv[1])
    conn, _ = server.accept()
    out.append(write_once(sys.argv[2]))
    conn.close()
    client.close()
print(" ".join(out))
