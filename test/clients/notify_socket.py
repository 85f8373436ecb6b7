"""A stand-in for systemd's notify socket: binds a Unix datagram socket at argv[1] and prints
every message it receives, one per line (what sd_notify / systemd-notify send)."""
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    data = s.recv(65536)
    print(data.decode("utf-8", "replace").replace("\n", " ").strip(), flush=True)
