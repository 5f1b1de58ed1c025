"""Crash safety of the job service (issue 7): 20 jobs, the server killed with SIGKILL at seeded random moments
and restarted on the same data directory, then every promise checked. Run through tools/crash_test.sh.

Moments, one planned per job from a shuffled deck, plus a second kill for 5 of them (so they run 3 times):
  upload    the body half sent (a seeded 5–95 %): the upload must leave nothing behind
  staging   the whole body sent, killed 0–80 ms later without reading the answer: the server is receiving
            the tail, writing and fsyncing the images, or committing; either nothing is left, or (killed
            after the COMMIT but before the 202 arrived) a complete job the client has not heard of yet
  answer    the server has sent its 202, which the client never reads (lost on the way), then killed: the
            job exists and the client does not know it
  queued    right after the 202 (0–20 ms): the job must survive and run
  features  at a seeded 10–80 % of that stage's duration in the uninterrupted run
  weights   likewise (α)
  commit    inside the result transaction: AC_TEST_PAUSE_BEFORE_COMMIT makes the worker log "COMMIT paused"
            and wait after writing every result row; the kill lands 0–50 % into that pause
Every upload of job i carries `Idempotency-Key: crash-test-<seed>-<i>`, and after its killed uploads the client
retries as a real one would: the retry gets 202 and a new job when nothing was committed, or 200 and the job
a killed upload committed. So exactly one job per planned job, all of them acknowledged.
Afterwards, for every acknowledged job (POST answered 202 or 200 with an id): succeeded; attempt = 1 + the
restarts that found it running ("was interrupted" in the log); its results written once (one row per image in
assignments and alphas); clusters and metrics identical to an uninterrupted run of the same images on a fresh
server; exactly --jobs jobs in the database; stored images byte-identical to the uploads, none missing, none
stray; tmp/ and checkpoints/ empty; PRAGMA integrity_check ok and foreign_key_check empty. The server saves
each search's progress after every block of rows (AC_SEARCH_CHECKPOINT_SECONDS=0), so runs after a kill in the
weights stage continue from it; their clusters must still equal the uninterrupted run's.
"""
import argparse
import hashlib
import os
import random
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import time

import service_harness as harness

PAUSE_MS = 1200


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/release/anomaly-clustering")
    parser.add_argument("--images", default="../shared/data/mvtec_ad/bottle/test",
                        help="a folder of label folders of images (default MVTec AD bottle/test)")
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--per-label", type=int, default=2, help="images per label and job")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", help="keep the data directories and logs here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.keep or tempfile.mkdtemp(prefix="crash-test-")
    os.makedirs(work, exist_ok=True)
    try:
        return run(args, rng, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def run(args, rng, work):
    labels = sorted(d for d in os.listdir(args.images) if os.path.isdir(os.path.join(args.images, d)))
    jobs = []
    for _ in range(args.jobs):
        chosen = []
        for label in labels:
            files = sorted(os.listdir(os.path.join(args.images, label)))
            chosen += [(label, f) for f in sorted(rng.sample(files, args.per_label))]
        jobs.append(chosen)
    sources = {f"{label}/{name}": os.path.join(args.images, label, name) for job in jobs for label, name in job}
    contents = {key: open(path, "rb").read() for key, path in sources.items()}
    parts = [[("images", f"{label}/{name}", contents[f"{label}/{name}"]) for label, name in job] for job in jobs]
    print(f"{args.jobs} jobs of {len(parts[0])} images ({args.per_label} per label of {', '.join(labels)}), "
          f"seed {args.seed}; work in {work}", flush=True)

    reference = reference_run(args, parts, work)
    plan = make_plan(rng, args.jobs)
    # Search progress saved after every block of rows: a kill in the weights stage resumes from it.
    server = harness.Server(args.bin, os.path.join(work, "crash"), os.path.join(work, "crash.log"),
                            env={"AC_TEST_PAUSE_BEFORE_COMMIT": str(PAUSE_MS), "AC_SEARCH_CHECKPOINT_SECONDS": "0"})
    log_offset = server.start()
    records = []
    started = time.monotonic()
    for index, events in enumerate(plan):
        record = {"index": index, "events": [], "id": None, "strays": [], "key": f"crash-test-{args.seed}-{index}"}
        records.append(record)
        log_offset = run_job(server, parts[index], reference[index], events, record, rng, log_offset)
        print(f"job {index:2}: {', '.join(record['events']) or 'no kill'}", flush=True)
    crash_seconds = time.monotonic() - started
    violations = check(server, args, jobs, parts, reference, records, sources, contents)
    print_summary(records, violations, server, crash_seconds)
    return 1 if violations else 0


def reference_run(args, parts, work):
    """Every job uninterrupted on a fresh server: assignments, metrics and stage durations per job."""
    started = time.monotonic()
    server = harness.Server(args.bin, os.path.join(work, "reference"), os.path.join(work, "reference.log"))
    server.start()
    try:
        ids = []
        for job_parts in parts:
            status, body = harness.post_job(server.port, job_parts)
            if status != 202:
                raise RuntimeError(f"reference upload: {status} {body}")
            ids.append(body["id"])
        reference = []
        for job_id in ids:
            job = harness.wait_job(server.port, job_id)
            if job["status"] != "succeeded":
                raise RuntimeError(f"reference job {job_id}: {job}")
            reference.append({"clusters": clusters_of(server.port, job_id), "timings": job["timings"]})
    finally:
        server.stop()
    print(f"reference run: {len(parts)} jobs uninterrupted in {time.monotonic() - started:.0f} s", flush=True)
    return reference


def clusters_of(port, job_id):
    status, body = harness.get_json(port, f"/v1/jobs/{job_id}/clusters")
    if status != 200:
        raise RuntimeError(f"clusters of {job_id}: {status} {body}")
    return {"clusters": body["clusters"], "metrics": body.get("metrics"),
            "assignments": [(a["image"], a["cluster"]) for a in body["assignments"]]}


def make_plan(rng, count):
    """One kill moment per job from a shuffled deck covering every moment, and a second kill in a running
    stage for a quarter of the jobs whose first kill interrupts a run (those run three times)."""
    deck = ["upload", "upload", "upload", "staging", "staging", "answer", "answer", "queued", "queued",
            "features", "features", "features", "features", "weights", "weights", "weights", "weights",
            "commit", "commit", "commit"]
    deck = (deck * (count // len(deck) + 1))[:count]
    rng.shuffle(deck)
    plan = [[moment] if moment != "none" else [] for moment in deck]
    running = [i for i, moments in enumerate(plan) if moments and moments[0] in ("queued", "features", "weights", "commit")]
    for index in rng.sample(running, min(len(running), max(1, count // 4))):
        plan[index].append(rng.choice(["features", "weights", "commit"]))
    return plan


def run_job(server, job_parts, reference, events, record, rng, log_offset):
    """Uploads one job and carries out its kills; returns the log offset of the current server run."""
    port = lambda: server.port  # noqa: E731 (the port stays the same across restarts)
    for event in [e for e in events if e in ("upload", "staging", "answer")]:
        known = set(job_ids(port()))
        content_type, body = harness.multipart(job_parts)
        head = (f"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                f"Idempotency-Key: {record['key']}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        client = socket.create_connection(("127.0.0.1", port()))
        if event == "upload":
            fraction = rng.uniform(0.05, 0.95)
            client.sendall(head + body[:int(len(body) * fraction)])
            time.sleep(0.2)  # let the server read what was sent
            server.kill()
            note = f"upload@{fraction:.0%}"
        elif event == "staging":
            delay = rng.uniform(0, 0.08)
            client.sendall(head + body)
            time.sleep(delay)
            server.kill()
            note = f"staging+{delay * 1000:.0f}ms"
        else:  # the 202 is sent but lost on the way: the client never reads it
            client.sendall(head + body)
            client.settimeout(60)
            client.recv(1)
            server.kill()
            note = "answer lost"
        client.close()
        log_offset = server.start()
        strays = [j for j in job_ids(port()) if j not in known]
        record["strays"] += strays
        record["events"].append(note + (f"→committed {len(strays)}" if strays else "→nothing"))

    # The client's retry (curl draws a new multipart boundary: the key still finds a committed job).
    status, body = harness.post_job(port(), job_parts, headers={"Idempotency-Key": record["key"]})
    if status not in (200, 202):
        raise RuntimeError(f"upload: {status} {body}")
    job_id = record["id"] = body["id"]
    if status == 200:
        record["events"].append("retry→200 same job")
        if job_id not in record["strays"]:
            record.setdefault("violations", []).append(f"the retry's 200 named {job_id}, not a committed upload")
        if job_id in record["strays"]:
            record["strays"].remove(job_id)
    elif record["strays"]:
        record.setdefault("violations", []).append(f"the retry made a second job beside {record['strays']}")

    for event in [e for e in events if e not in ("upload", "staging")]:
        if event == "queued":
            delay = rng.uniform(0, 0.02)
            time.sleep(delay)
            note = f"queued+{delay * 1000:.0f}ms"
        elif event in ("features", "weights"):
            if not wait_for_stage(port(), job_id, event):
                record["events"].append(f"{event}:missed")
                continue
            seconds = reference["timings"][f"{event}_seconds"] * rng.uniform(0.1, 0.8)
            time.sleep(seconds)
            _, job = harness.get_json(port(), f"/v1/jobs/{job_id}")
            note = f"{event}+{seconds:.2f}s(seen {job['stage']} {job['progress']:.2f})"
        else:  # commit
            marker = f"job {job_id}: results written, COMMIT paused"
            if not wait_for_log(server, log_offset, marker, job_id):
                record["events"].append("commit:missed")
                continue
            delay = rng.uniform(0, PAUSE_MS / 2000)
            time.sleep(delay)
            note = f"commit+{delay * 1000:.0f}ms"
        server.kill()
        record["events"].append(note)
        log_offset = server.start()
    job = harness.wait_job(port(), job_id)
    record["final"] = job
    return log_offset


def job_ids(port):
    ids, cursor = [], None
    while True:
        _, page = harness.get_json(port, "/v1/jobs?limit=100" + (f"&before={cursor}" if cursor else ""))
        ids += [j["id"] for j in page["jobs"]]
        cursor = page["next"]
        if not cursor:
            return ids


def wait_for_stage(port, job_id, stage, timeout=300):
    """Polls every 5 ms until the job runs in `stage`; False if it finished or passed it first."""
    order = ["decoding", "features", "weights", "clustering"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, job = harness.get_json(port, f"/v1/jobs/{job_id}")
        if job["status"] == "running" and job["stage"] == stage:
            return True
        if job["status"] not in ("queued", "running") or (
                job["stage"] in order and order.index(job["stage"]) > order.index(stage)):
            return False
        time.sleep(0.005)
    return False


def wait_for_log(server, offset, marker, job_id, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(server.log_path, "rb") as f:
            f.seek(offset)
            if marker.encode() in f.read():
                return True
        _, job = harness.get_json(server.port, f"/v1/jobs/{job_id}")
        if job["status"] not in ("queued", "running"):
            return False
        time.sleep(0.005)
    return False


def check(server, args, jobs, parts, reference, records, sources, contents):
    """Every promise, over HTTP and then in the database and the data directory; returns the violations."""
    violations = [f"job {r['index']}: {v}" for r in records for v in r.get("violations", [])]
    log = server.log_text()
    port = server.port
    acknowledged = {r["id"]: r for r in records}
    strays = {s: r for r in records for s in r["strays"]}
    for job_id, record in list(acknowledged.items()) + list(strays.items()):
        is_stray = job_id in strays
        name = f"job {record['index']}{' (unacknowledged)' if is_stray else ''} {job_id[:8]}"
        _, job = harness.get_json(port, f"/v1/jobs/{job_id}")
        interrupted = log.count(f"job {job_id} was interrupted; queued again")
        succeeded_lines = log.count(f"job {job_id} succeeded in")
        entry = record.setdefault("stray_checks", {}) if is_stray else record
        entry.update(attempt=job["attempt"], expected_attempt=1 + interrupted, status=job["status"],
                     succeeded_lines=succeeded_lines)
        if job["status"] != "succeeded":
            violations.append(f"{name}: {job['status']} {job.get('error')}")
            continue
        if job["attempt"] != 1 + interrupted:
            violations.append(f"{name}: attempt {job['attempt']}, but {interrupted} restarts found it running")
        if succeeded_lines > 1:
            violations.append(f"{name}: completed {succeeded_lines} times (log)")
        same = clusters_of(port, job_id) == reference[record["index"]]["clusters"]
        entry["same_clusters"] = same
        if not same:
            violations.append(f"{name}: clusters differ from the uninterrupted run")
    server.stop()

    data = server.data_dir
    db = sqlite3.connect(f"file:{data}/jobs.sqlite?mode=ro", uri=True)
    integrity = db.execute("PRAGMA integrity_check").fetchall()
    if integrity != [("ok",)]:
        violations.append(f"integrity_check: {integrity}")
    foreign = db.execute("PRAGMA foreign_key_check").fetchall()
    if foreign:
        violations.append(f"foreign_key_check: {foreign}")
    rows = db.execute("SELECT id, status, image_count FROM jobs").fetchall()
    for job_id, status, image_count in rows:
        if job_id not in acknowledged and job_id not in strays:
            violations.append(f"job {job_id} in the database: never acknowledged nor seen after a kill")
        for table in ("images", "assignments", "alphas"):
            n = db.execute(f"SELECT count(*) FROM {table} WHERE job_id = ?", (job_id,)).fetchone()[0]
            if n != image_count:
                violations.append(f"job {job_id[:8]}: {n} rows in {table} for {image_count} images")
    if len(rows) != len(acknowledged) + len(strays):
        violations.append(f"{len(rows)} jobs in the database; {len(acknowledged)} acknowledged + {len(strays)} seen")
    if len(rows) != args.jobs:
        violations.append(f"{len(rows)} jobs in the database for {args.jobs} planned (one per Idempotency-Key)")
    stored = db.execute("SELECT job_id, name, label, stored_path FROM images").fetchall()
    db.close()
    files = set(os.listdir(f"{data}/images"))
    known = {path for _, _, _, path in stored}
    for path in sorted(files - known):
        violations.append(f"stray image file images/{path}")
    for job_id, name, label, path in stored:
        if path not in files:
            violations.append(f"job {job_id[:8]}: image {label}/{name} missing (images/{path})")
            continue
        with open(f"{data}/images/{path}", "rb") as f:
            if hashlib.sha256(f.read()).digest() != hashlib.sha256(contents[f"{label}/{name}"]).digest():
                violations.append(f"job {job_id[:8]}: images/{path} differs from the uploaded {label}/{name}")
    leftovers = os.listdir(f"{data}/tmp")
    if leftovers:
        violations.append(f"tmp/ holds {leftovers}")
    extra = set(os.listdir(data)) - {"jobs.sqlite", "jobs.sqlite-wal", "jobs.sqlite-shm", "images", "tmp", "checkpoints"}
    if os.listdir(f"{data}/checkpoints"):
        violations.append(f"checkpoints/ holds {os.listdir(f'{data}/checkpoints')} after every job finished")
    if extra:
        violations.append(f"unexpected files in the data directory: {sorted(extra)}")
    print(f"checked: integrity_check {integrity[0][0] if integrity else '?'}, foreign_key_check "
          f"{len(foreign)} rows, {len(rows)} jobs, {len(stored)} image rows, {len(files)} image files, "
          f"tmp/ {len(leftovers)} files")
    return violations


def print_summary(records, violations, server, seconds):
    kills = sum(1 for r in records for e in r["events"] if "missed" not in e and not e.startswith("retry"))
    print(f"\n{'job':>3}  {'id':8}  {'attempt':>7}  {'expected':>8}  {'status':9}  {'clusters':8}  kills")
    for r in records:
        same = {True: "same", False: "DIFFER", None: "-"}[r.get("same_clusters")]
        print(f"{r['index']:>3}  {r['id'][:8]}  {r.get('attempt', '?'):>7}  {r.get('expected_attempt', '?'):>8}  "
              f"{r.get('status', '?'):9}  {same:8}  {'; '.join(r['events']) or '-'}")
        for stray in r["strays"]:
            s = r.get("stray_checks", {})
            print(f"     {stray[:8]}  unacknowledged job (its key did not find it on the retry): "
                  f"{s.get('status')}, clusters {'same' if s.get('same_clusters') else 'DIFFER'}")
    moments = {}
    for r in records:
        for e in r["events"]:
            key = re.split(r"[@+:→ ]", e)[0]
            if key != "retry":
                moments[key] = moments.get(key, 0) + (0 if "missed" in e else 1)
    replayed = sum(1 for r in records for e in r["events"] if e.startswith("retry"))
    resumed = server.log_text().count(": resuming its nearest-patch search at image ")
    print(f"\n{kills} SIGKILLs and {server.starts} starts in {seconds:.0f} s; {resumed} runs resumed a saved search; by moment: "
          + ", ".join(f"{k} {v}" for k, v in sorted(moments.items()))
          + f"; {replayed} retries answered 200 with the job a killed upload had committed")
    if violations:
        print(f"\nFAILED: {len(violations)} violations")
        for v in violations:
            print("  " + v)
    else:
        print("OK: one job per Idempotency-Key, every one acknowledged and completed once with the clusters of "
              "the uninterrupted run; no image missing or stray; integrity_check ok")


if __name__ == "__main__":
    sys.exit(main())
