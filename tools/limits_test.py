"""The service's limits, and what a client sees when one is reached (issue 7, load). Each case starts its own
server; exits 1 if a limit does not do what is documented.

  connections  600 idle connections against max_connections 512: 512 are served, the rest answered 503
               `too_many_connections` at once; /healthz meanwhile gets 503; 200 again once they close
  queue        one long job running, then 40 small uploads: queue_limit (32) wait, the rest get 429
               `queue_full` with Retry-After: 30, before their bodies are read
  open files   the server under `ulimit -n 256`: max_connections lowered to 64 (logged); 600 connections
               while a job runs: 64 served, 64 answered 503, the rest closed at once; the job succeeds
  soft limit   soft 1024 / hard 20000 (systemd's default soft limit): raised to the hard limit at start
Usage: python3 tools/limits_test.py [--bin B] [--images DIR]
"""
import argparse
import json
import os
import shutil
import socket
import sys
import tempfile
import time

import service_harness as harness


def open_idle(port, count):
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        sockets.append(s)
    return sockets


def answers(sockets, wait=1.0):
    """What each connection got within `wait` s: a status, 'closed', or 'nothing' (still open, unanswered)."""
    time.sleep(wait)
    counts = {}
    for s in sockets:
        s.setblocking(False)
        try:
            data = s.recv(4096)
            key = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/1.1 ") else "closed"
        except BlockingIOError:
            key = "nothing"
        except ConnectionResetError:
            key = "closed"
        counts[key] = counts.get(key, 0) + 1
    return counts


def healthz(port):
    started = time.monotonic()
    try:
        status = harness.request(port, "GET", "/healthz", timeout=5)[0]
    except OSError as error:
        status = type(error).__name__
    return status, (time.monotonic() - started) * 1000


class Limits:
    def __init__(self, args, work):
        self.args, self.work = args, work
        self.violations = []
        self.servers = 0
        bottle = args.images
        self.long_job = [("images", f"{label}/{f}", open(os.path.join(bottle, label, f), "rb").read())
                         for label in ("good", "broken_large") for f in sorted(os.listdir(os.path.join(bottle, label)))[:10]]
        self.tiny = [("images", f"tiny/{i}.png", harness.tiny_png(i)) for i in range(2)] + [
            ("options", None, json.dumps({"mode": "average"}).encode())]

    def server(self, **options):
        self.servers += 1
        name = f"server{self.servers}"
        server = harness.Server(self.args.bin, os.path.join(self.work, name), os.path.join(self.work, name + ".log"),
                                **options)
        server.start()
        return server

    def expect(self, what, condition, detail):
        print(f"  {'ok' if condition else 'VIOLATION'}: {what}: {detail}")
        if not condition:
            self.violations.append(f"{what}: {detail}")

    def flood(self, server, served):
        """600 idle connections: `served` held open (unanswered, as the server waits for their heads), as many
        more answered 503 at once, the rest closed at once; /healthz meanwhile is refused quickly."""
        sockets = open_idle(server.port, 600)
        got = answers(sockets)
        probe = healthz(server.port)
        self.expect("600 connections", got.get("nothing") == served and got.get("503") == min(served, 600 - served),
                    f"{got} (server fds {server.fd_count()})")
        self.expect("/healthz while full", probe[0] != 200 and probe[1] < 1000, f"{probe[0]} in {probe[1]:.1f} ms")
        return sockets

    def connections(self):
        print("connections: 600 idle connections, max_connections 512 (default)")
        server = self.server()
        try:
            sockets = self.flood(server, 512)
            for s in sockets:
                s.close()
            time.sleep(0.5)
            probe = healthz(server.port)
            self.expect("/healthz after they close", probe[0] == 200, f"{probe[0]} in {probe[1]:.1f} ms")
        finally:
            server.stop()

    def queue(self):
        print("queue: one long job running, then 40 small uploads, queue_limit 32 (default)")
        server = self.server()
        try:
            status, long_job = harness.post_job(server.port, self.long_job)
            time.sleep(0.3)
            results = {}
            retry_after = set()
            for _ in range(40):
                content_type, body = harness.multipart(self.tiny)
                status, headers, text = harness.request(server.port, "POST", "/v1/jobs", body=body,
                                                        headers={"Content-Type": content_type})
                code = json.loads(text).get("error", {}).get("code") if status != 202 else "accepted"
                results[(status, code)] = results.get((status, code), 0) + 1
                if status == 429:
                    retry_after.add(headers.get("retry-after"))
            _, _, metrics = harness.request(server.port, "GET", "/metrics")
            waiting = [line for line in metrics.decode().splitlines() if line.startswith("ac_queue_waiting ")]
            self.expect("40 uploads behind a running job",
                        results.get((202, "accepted")) == 32 and results.get((429, "queue_full")) == 8,
                        f"{ {f'{s} {c}': n for (s, c), n in results.items()} }, Retry-After {retry_after}, {waiting}")
            harness.request(server.port, "DELETE", f"/v1/jobs/{long_job['id']}")
        finally:
            server.stop()

    def open_files(self):
        print("open files: ulimit -n 256, 600 connections while a job runs")
        server = self.server(open_files=256)
        try:
            lowered = [l for l in server.log_text().splitlines() if "max_connections lowered" in l]
            self.expect("cap lowered at start", bool(lowered), lowered[0].split(" ", 1)[1] if lowered else "no log line")
            status, job = harness.post_job(server.port, self.long_job)
            sockets = self.flood(server, 64)
            time.sleep(3)
            for s in sockets:
                s.close()
            final = harness.wait_job(server.port, job["id"])
            self.expect("the job during the flood", final["status"] == "succeeded", f"{final['status']} {final.get('error')}")
        finally:
            server.stop()

    def soft_limit(self):
        print("soft limit: soft 1024, hard as this shell's")
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        try:
            server = self.server()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        try:
            with open(f"/proc/{server.pid}/limits") as f:
                line = next(l for l in f if l.startswith("Max open files")).split()
            self.expect("soft limit raised", int(line[3]) == hard, f"Max open files soft {line[3]}, hard {line[4]}")
        finally:
            server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/release/anomaly-clustering")
    parser.add_argument("--images", default="../shared/data/mvtec_ad/bottle/test")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="limits-test-")
    limits = Limits(args, work)
    try:
        limits.connections()
        limits.queue()
        limits.open_files()
        limits.soft_limit()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if limits.violations:
        print(f"FAILED: {len(limits.violations)} violations")
        return 1
    print("OK: every limit did what is documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
