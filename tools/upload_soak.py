"""No descriptor or memory growth over many small jobs (issue 7, load): N uploads of 2 tiny generated PNGs each
(mode average, EfficientNet-Lite0), each polled until it succeeds and then deleted, from a few concurrent
clients on new connections. Every `--sample-every` uploads it records the server's open descriptors
(/proc/PID/fd), VmRSS, the files in images/ and tmp/, and the database size. Exits 1 if the descriptor count
grew, a job did not succeed, or files were left behind.
Usage: python3 tools/upload_soak.py [--uploads 10000] [--sample-every 1000] [--clients 4] [--bin B]
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time

import service_harness as harness


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/release/anomaly-clustering")
    parser.add_argument("--uploads", type=int, default=10_000)
    parser.add_argument("--sample-every", type=int, default=1_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="upload-soak-")
    server = harness.Server(args.bin, os.path.join(work, "data"), os.path.join(work, "server.log"))
    server.start()
    try:
        return soak(args, server)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def sample(server, done, started):
    data = server.data_dir
    database = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.startswith("jobs.sqlite"))
    return {"uploads": done, "seconds": time.monotonic() - started, "fds": server.fd_count(),
            "rss_kib": server.rss_kib(), "images": len(os.listdir(os.path.join(data, "images"))),
            "tmp": len(os.listdir(os.path.join(data, "tmp"))), "db_kib": database >> 10}


def soak(args, server):
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "statuses": {}, "refused": 0, "errors": []}
    samples = []
    started = time.monotonic()
    samples.append(sample(server, 0, started))
    options = ("options", None, json.dumps({"mode": "average"}).encode())

    def client():
        while True:
            with lock:
                if state["next"] >= args.uploads or state["errors"]:
                    return
                index = state["next"]
                state["next"] += 1
            parts = [("images", f"soak/{index}-{i}.png", harness.tiny_png(index * 2 + i)) for i in range(2)]
            try:
                while True:
                    status, body = harness.post_job(server.port, parts + [options])
                    if status != 429:
                        break
                    with lock:
                        state["refused"] += 1
                    time.sleep(0.2)
                if status != 202:
                    raise RuntimeError(f"upload {index}: {status} {body}")
                job = harness.wait_job(server.port, body["id"], interval=0.02)
                status, _, _ = harness.request(server.port, "DELETE", f"/v1/jobs/{body['id']}")
                if status != 204:
                    raise RuntimeError(f"DELETE {body['id']}: {status}")
            except Exception as error:  # noqa: BLE001 (reported and stops the soak)
                with lock:
                    state["errors"].append(f"{error}")
                return
            with lock:
                state["done"] += 1
                state["statuses"][job["status"]] = state["statuses"].get(job["status"], 0) + 1
                if state["done"] % args.sample_every == 0:
                    samples.append(sample(server, state["done"], started))
                    s = samples[-1]
                    print(f"{s['uploads']:>6} uploads  {s['seconds']:6.0f} s  fds {s['fds']:>3}  "
                          f"VmRSS {s['rss_kib']:>7} KiB  images/ {s['images']:>2}  tmp/ {s['tmp']}  "
                          f"db {s['db_kib']} KiB", flush=True)

    print(f"server pid {server.pid}: {args.uploads} uploads from {args.clients} clients; at start fds "
          f"{samples[0]['fds']}, VmRSS {samples[0]['rss_kib']} KiB", flush=True)
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(0.5)
    final = sample(server, state["done"], started)

    problems = list(state["errors"])
    first = samples[1] if len(samples) > 1 else samples[0]
    if final["fds"] > first["fds"]:
        problems.append(f"descriptors grew from {first['fds']} (after {first['uploads']}) to {final['fds']}")
    if final["images"] or final["tmp"]:
        problems.append(f"left behind: {final['images']} image files, {final['tmp']} temporary bodies")
    if state["statuses"].get("succeeded", 0) != args.uploads:
        problems.append(f"job outcomes {state['statuses']}")
    rss = [s["rss_kib"] for s in samples[1:]] or [final["rss_kib"]]
    print(f"\n{state['done']} uploads in {final['seconds']:.0f} s ({state['done'] / final['seconds']:.1f} jobs/s), "
          f"outcomes {state['statuses']}, 429s {state['refused']}")
    print(f"fds: start {samples[0]['fds']}, after {first['uploads']} {first['fds']}, end {final['fds']}; "
          f"VmRSS KiB: start {samples[0]['rss_kib']}, after {first['uploads']} {first['rss_kib']}, "
          f"min/max over the samples {min(rss)}/{max(rss)}, end {final['rss_kib']}")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("OK: no descriptor growth, no files left, every job succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
