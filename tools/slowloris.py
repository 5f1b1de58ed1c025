"""Slow clients (slowloris) against a running service, while curl measures /healthz (issue 7, load).

N connections each send a request head one byte every `--interval` seconds and never finish it; when the
server closes one (its header timeout counts from the first byte and is not extended by progress), it is
opened again at once, so N stay connected. Meanwhile `curl -w %{time_total}` asks /healthz every 0.1 s on
a new connection. Prints the probes' status codes and p50/p99/max time, how long the server kept a slow
connection and what it answered, and the server's descriptors and VmRSS before, during and after.
Usage: python3 tools/slowloris.py --port P --pid PID [--clients 500] [--interval 2] [--seconds 60]
Exits 1 if a probe failed or took 100 ms or more.
"""
import argparse
import os
import selectors
import socket
import subprocess
import sys
import threading
import time

import service_harness as harness

HEAD = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nUser-Agent: slowloris\r\nX-Padding: " + b"a" * 4096


class SlowClients:
    """`count` connections trickling HEAD, reopened when the server closes them."""

    def __init__(self, port, count, interval):
        self.port, self.count, self.interval = port, count, interval
        self.selector = selectors.DefaultSelector()
        self.lifetimes, self.answers, self.refused = [], {}, 0
        self.stopping = threading.Event()

    def open(self):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", self.port))
        except BlockingIOError:
            pass
        self.selector.register(s, selectors.EVENT_READ, {"opened": time.monotonic(), "sent": 0, "next": 0.0})

    def run(self):
        for _ in range(self.count):
            self.open()
        while not self.stopping.is_set():
            now = time.monotonic()
            for key in list(self.selector.get_map().values()):
                state = key.data
                if now >= state["next"] and state["sent"] < len(HEAD):
                    try:
                        state["sent"] += key.fileobj.send(HEAD[state["sent"]:state["sent"] + 1])
                    except (BlockingIOError, InterruptedError):
                        pass
                    except OSError:
                        self.closed(key, b"")
                        continue
                    state["next"] = now + self.interval
            for key, _ in self.selector.select(timeout=0.05):
                try:
                    data = key.fileobj.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                self.closed(key, data)
        for key in list(self.selector.get_map().values()):
            self.selector.unregister(key.fileobj)
            key.fileobj.close()

    def closed(self, key, data):
        """The server answered or closed: record it and open a replacement."""
        status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "closed without an answer"
        self.answers[status] = self.answers.get(status, 0) + 1
        if status == "503":
            self.refused += 1
        self.lifetimes.append(time.monotonic() - key.data["opened"])
        self.selector.unregister(key.fileobj)
        key.fileobj.close()
        if not self.stopping.is_set():
            self.open()


def server_figures(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return len(os.listdir(f"/proc/{pid}/fd")), rss


def probe(port):
    """One curl to /healthz on a new connection: (HTTP status, seconds)."""
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "--max-time", "5", "-w", "%{http_code} %{time_total}",
         f"http://127.0.0.1:{port}/healthz"], capture_output=True, text=True).stdout.split()
    return (out[0], float(out[1])) if len(out) == 2 else ("error", 5.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id, for /proc figures")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between a slow client's bytes")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--limit-ms", type=float, default=100)
    args = parser.parse_args()

    before = server_figures(args.pid)
    slow = SlowClients(args.port, args.clients, args.interval)
    thread = threading.Thread(target=slow.run)
    thread.start()
    time.sleep(2)  # all connected
    during = server_figures(args.pid)
    probes = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        probes.append(probe(args.port))
        time.sleep(0.1)
    during_end = server_figures(args.pid)
    slow.stopping.set()
    thread.join()
    time.sleep(1)
    after = server_figures(args.pid)

    times = [t * 1000 for _, t in probes]
    statuses = {}
    for status, _ in probes:
        statuses[status] = statuses.get(status, 0) + 1
    lifetimes = sorted(slow.lifetimes)
    print(f"{args.clients} slow clients (a byte every {args.interval:g} s) for {args.seconds:g} s; "
          f"{len(probes)} curl probes of /healthz: statuses {statuses}")
    print(f"  /healthz time_total ms: p50 {harness.percentile(times, 50):.2f}, p99 {harness.percentile(times, 99):.2f}, "
          f"max {max(times):.2f}")
    if lifetimes:
        print(f"  slow connections ended by the server: {len(lifetimes)}, answers {slow.answers}, lifetime s: "
              f"min {lifetimes[0]:.1f}, median {harness.percentile(lifetimes, 50):.1f}, max {lifetimes[-1]:.1f}")
    print(f"  server fds/VmRSS KiB: before {before[0]}/{before[1]}, during {during[0]}/{during[1]} and "
          f"{during_end[0]}/{during_end[1]}, after {after[0]}/{after[1]}")
    bad = [p for p in probes if p[0] != "200" or p[1] * 1000 >= args.limit_ms]
    if bad:
        print(f"FAILED: {len(bad)} probes not 200 within {args.limit_ms:g} ms, e.g. {bad[:5]}")
        return 1
    print(f"OK: every probe 200 within {args.limit_ms:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
