#!/usr/bin/env python3
"""Opens COUNT TCP connections to 127.0.0.1:PORT and sends nothing on them (an idle-connection flood), printing
`holding N` once every connection has been started. Holds them until killed (or 300 s). Loopback only."""
import resource
import socket
import sys
import time

port, count = int(sys.argv[1]), int(sys.argv[2])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 64)), hard))
held = []
for _ in range(count):
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    connection.setblocking(False)
    connection.connect_ex(("127.0.0.1", port))
    held.append(connection)
print(f"holding {len(held)}", flush=True)
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    time.sleep(1)
