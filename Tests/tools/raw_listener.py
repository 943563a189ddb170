#!/usr/bin/env python3
"""A stand-in for a receipt printer's raw port (AppSocket, 9100): accepts connections on a free loopback port,
writes each connection's bytes to OUT.N, closes when the sender has finished. The port goes to PORT_FILE.
Exits after COUNT connections (default 1), or after 60 s without one, so it never outlives its test."""
import socket
import sys

port_file, out = sys.argv[1], sys.argv[2]
expected = int(sys.argv[3]) if len(sys.argv) > 3 else 1
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.settimeout(60)
server.bind(("127.0.0.1", 0))
server.listen(4)
with open(port_file + ".tmp", "w") as handle:
    handle.write(str(server.getsockname()[1]))
import os
os.rename(port_file + ".tmp", port_file)
count = 0
while count < expected:
    try:
        connection, _ = server.accept()
    except socket.timeout:
        sys.exit(1)
    connection.settimeout(60)
    count += 1
    received = bytearray()
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
    with open(f"{out}.{count}.tmp", "wb") as handle:
        handle.write(received)
    os.rename(f"{out}.{count}.tmp", f"{out}.{count}")
    connection.close()
