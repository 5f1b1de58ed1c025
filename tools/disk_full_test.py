"""Disk full (issue 7): the service on a data directory in a small file system (tools/disk_full_test.sh mounts
an 8 MiB tmpfs), filled by a filler file to the byte. Run through that script, which needs root for mount.

Cases, each followed by the same checks (no file in tmp/, the image files exactly those the database names,
no job row unless the answer was 202, the server still answering /healthz):
  body     an upload larger than the file system: 507 while the body streams to tmp/
  images   an upload whose body fits but whose images do not fit beside it: 507 while staging
  sweep    a 2-image upload with 0, 4, …, 64 KiB free: which step runs out (body, image files, or the job
           row: SQLITE_FULL) and what the client gets
  running  the disk filled while a job computes (progress and result writes hit SQLITE_FULL): the job waits
           for room, then succeeds once the filler is removed
  delete   the disk 100 % full: DELETE of a finished job still answers 204 (the job's image files go first, to
           make room for the database's own writes)
  restart  the disk 100 % full at a restart: after a SIGKILL the server starts, answers GETs and refuses
           uploads with 507; after a clean stop (WAL and its index removed) it refuses to start, saying why
Last: room again, an upload is accepted and runs; PRAGMA integrity_check ok. Exits 1 on any violation.
"""
import argparse
import errno
import os
import sqlite3
import sys
import time

import service_harness as harness


class DiskFullTest:
    def __init__(self, args):
        self.args = args
        self.data = os.path.join(args.mount, "data")
        self.filler = os.path.join(args.mount, "filler")
        self.server = harness.Server(args.bin, self.data, args.log)
        self.rows = []
        self.violations = []
        bottle = args.images
        good = sorted(os.listdir(os.path.join(bottle, "good")))
        broken = sorted(os.listdir(os.path.join(bottle, "broken_large")))
        self.bottle = [("images", f"good/{f}", open(os.path.join(bottle, "good", f), "rb").read()) for f in good]
        self.bottle_broken = [("images", f"broken_large/{f}", open(os.path.join(bottle, "broken_large", f), "rb").read())
                              for f in broken]
        self.tiny = [("images", f"tiny/{i}.png", harness.tiny_png(i)) for i in range(2)] + [
            ("options", None, b'{"mode": "average"}')]
        self.accepted = set()

    # Filling and freeing.

    def free_bytes(self):
        stat = os.statvfs(self.args.mount)
        return stat.f_bavail * stat.f_frsize

    def fill(self, leave=0):
        """Fills the file system to the last block, then gives back `leave` bytes."""
        self.unfill()
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            chunk = b"\0" * 65536
            while True:
                os.write(fd, chunk)  # unbuffered: a short write, then ENOSPC
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
        finally:
            size = os.fstat(fd).st_size
            os.close(fd)
        os.truncate(self.filler, max(0, size - leave))

    def unfill(self):
        if os.path.exists(self.filler):
            os.unlink(self.filler)

    # Checks.

    def leftovers(self):
        """What a half-written upload could leave: files in tmp/, image files no job names, jobs not acknowledged."""
        problems = []
        tmp = os.listdir(os.path.join(self.data, "tmp"))
        if tmp:
            problems.append(f"tmp/ holds {tmp}")
        db = sqlite3.connect(f"file:{self.data}/jobs.sqlite?mode=ro", uri=True)
        try:
            named = {row[0] for row in db.execute("SELECT stored_path FROM images")}
            jobs = {row[0] for row in db.execute("SELECT id FROM jobs")}
        finally:
            db.close()
        files = set(os.listdir(os.path.join(self.data, "images")))
        if files - named:
            problems.append(f"{len(files - named)} image files no job names")
        if named - files:
            problems.append(f"{len(named - files)} image files missing")
        if jobs - self.accepted:
            problems.append(f"{len(jobs - self.accepted)} jobs never acknowledged")
        if harness.request(self.server.port, "GET", "/healthz", timeout=5)[0] != 200:
            problems.append("/healthz does not answer 200")
        return problems

    def post(self, parts):
        try:
            status, body = harness.post_job(self.server.port, parts)
        except (ConnectionError, OSError) as error:
            return None, f"connection error: {error}"
        if status == 202:
            self.accepted.add(body["id"])
            return status, body["id"]
        error = (body or {}).get("error", {})
        return status, f"{error.get('code')}: {error.get('message')}"

    def record(self, case, free, expected, status, detail):
        problems = self.leftovers()
        ok = status in expected and not problems
        if not ok:
            self.violations.append(f"{case} ({free}): got {status} {detail}; {'; '.join(problems)}")
        self.rows.append((case, free, status, detail, "; ".join(problems) or "none", "ok" if ok else "VIOLATION"))

    # Cases.

    def run(self):
        os.makedirs(self.data, exist_ok=True)
        self.server.start()
        size = self.free_bytes()
        print(f"{self.args.mount}: {size / 1048576:.1f} MiB free at start; server pid {self.server.pid}")

        body = self.bottle[:20]
        status, detail = self.post(body)
        self.record("body", f"{size >> 10} KiB", {507}, status, detail)

        images = self.bottle[:12]
        status, detail = self.post(images)
        self.record("images", f"{self.free_bytes() >> 10} KiB", {507}, status, detail)

        for kib in range(0, 68, 4):
            self.fill(leave=kib * 1024)
            status, detail = self.post(self.tiny)
            self.unfill()
            self.record("sweep", f"{kib} KiB", {202, 507}, status, detail)
            if status == 202:
                harness.wait_job(self.server.port, detail)
        self.running_job()
        self.delete_full()
        self.restart_full()

        self.unfill()
        status, detail = self.post(self.tiny)
        self.record("room again", f"{self.free_bytes() >> 10} KiB", {202}, status, detail)
        if status == 202:
            job = harness.wait_job(self.server.port, detail)
            if job["status"] != "succeeded":
                self.violations.append(f"room again: job {job['status']}")
        alive = self.server.process.poll() is None
        self.server.stop()
        db = sqlite3.connect(f"file:{self.data}/jobs.sqlite?mode=ro", uri=True)
        integrity = db.execute("PRAGMA integrity_check").fetchall()
        foreign = db.execute("PRAGMA foreign_key_check").fetchall()
        statuses = db.execute("SELECT status, count(*) FROM jobs GROUP BY status").fetchall()
        db.close()
        if integrity != [("ok",)] or foreign:
            self.violations.append(f"integrity_check {integrity}, foreign_key_check {foreign}")
        if not alive:
            self.violations.append("the server exited")
        if any(status != "succeeded" for status, _ in statuses):
            self.violations.append(f"jobs not succeeded: {statuses}")
        self.report(integrity, foreign, statuses)

    def running_job(self):
        """Fills the disk while a job computes; frees it a few seconds later."""
        status, job_id = self.post(self.bottle[:3] + self.bottle_broken[:3])
        if status != 202:
            self.violations.append(f"running: upload refused: {status} {job_id}")
            return
        while harness.get_json(self.server.port, f"/v1/jobs/{job_id}")[1]["stage"] != "features":
            time.sleep(0.005)
        self.fill()
        marker = f"job {job_id}: the disk is full while writing its results; waiting for room"
        deadline = time.monotonic() + 300
        while marker not in self.server.log_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        waiting = marker in self.server.log_text()
        time.sleep(2)  # a retry or two
        _, during = harness.get_json(self.server.port, f"/v1/jobs/{job_id}")
        status, detail = self.post(self.tiny)
        self.record("running: upload while full", "0 KiB", {507}, status, detail)
        self.unfill()
        job = harness.wait_job(self.server.port, job_id)
        ok = during["status"] == "running" and waiting and job["status"] == "succeeded" and job["attempt"] == 1
        detail = (f"while full: {during['status']} {during['stage']} {during['progress']:.2f}, "
                  f"log says waiting for room: {waiting}; after freeing: {job['status']}, attempt {job['attempt']}")
        self.rows.append(("running: job", "0 KiB → freed", job["status"], detail, "-", "ok" if ok else "VIOLATION"))
        if not ok:
            self.violations.append(f"running job: {detail}")

    def delete_full(self):
        """Deleting jobs is how a user frees space, so it has to work at 100 % full."""
        status, job_id = self.post(self.bottle[:3])
        if status != 202:
            self.violations.append(f"delete: upload refused: {status} {job_id}")
            return
        harness.wait_job(self.server.port, job_id)
        self.fill()
        status, _, body = harness.request(self.server.port, "DELETE", f"/v1/jobs/{job_id}")
        detail = f"{harness.get_json(self.server.port, f'/v1/jobs/{job_id}')[0]} on GET afterwards"
        if status != 204:
            detail = f"{body!r}; " + detail
        self.unfill()
        self.record("delete at 100 % full", "0 KiB", {204}, status, detail)

    def restart_full(self):
        """After a crash the WAL and its shared-memory index are still there: the server starts on a full disk,
        answers GETs and refuses uploads with 507. A clean stop removes both, which the next start cannot
        create on a full disk: the server must then refuse to start with a message that says so."""
        self.server.kill()
        self.fill()
        self.server.start()
        status, listing = harness.get_json(self.server.port, "/v1/jobs")
        self.rows.append(("restart full (after SIGKILL)", "0 KiB", status, f"GET /v1/jobs: {len(listing['jobs'])} jobs",
                          "-", "ok" if status == 200 else "VIOLATION"))
        if status != 200:
            self.violations.append(f"restart full after SIGKILL: GET /v1/jobs {status}")
        status, detail = self.post(self.tiny)
        self.record("restart full: upload", "0 KiB", {507}, status, detail)
        self.unfill()
        self.server.stop()  # with room: the last connection checkpoints and removes the WAL and its index
        self.fill()
        offset = os.path.getsize(self.server.log_path)
        try:
            self.server.start()
        except RuntimeError:
            with open(self.server.log_path, "rb") as f:
                f.seek(offset)
                message = f.read().decode(errors="replace").strip().splitlines()[-1]
            ok = "is full" in message
            self.rows.append(("restart full (clean stop)", "0 KiB", "exit", message, "-", "ok" if ok else "VIOLATION"))
            if not ok:
                self.violations.append(f"restart on a full disk: unclear message: {message}")
            self.unfill()
            self.server.start()
            return
        self.rows.append(("restart full (clean stop)", "0 KiB", "start", "started", "-", "ok"))

    def report(self, integrity, foreign, statuses):
        print(f"\n{'case':28} {'free':>14}  {'status':>6}  answer / outcome")
        for case, free, status, detail, problems, verdict in self.rows:
            print(f"{case:28} {free:>14}  {str(status):>6}  {detail}")
            print(f"{'':28} {'':>14}  {'':>6}  leftovers: {problems}; {verdict}")
        print(f"\nafter stopping: integrity_check {integrity[0][0]}, foreign_key_check {len(foreign)} rows, "
              f"jobs {dict(statuses)}")
        if self.violations:
            print(f"FAILED: {len(self.violations)} violations")
            for v in self.violations:
                print("  " + v)
        else:
            print("OK: every refused upload left nothing behind; the server kept serving; jobs completed")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=".build/release/anomaly-clustering")
    parser.add_argument("--images", default="../shared/data/mvtec_ad/bottle/test")
    parser.add_argument("--mount", required=True, help="a small file system, empty (the data dir goes inside)")
    parser.add_argument("--log", required=True, help="the server's log (outside the mount)")
    test = DiskFullTest(parser.parse_args())
    try:
        test.run()
    finally:
        test.unfill()
        test.server.stop()
    return 1 if test.violations else 0


if __name__ == "__main__":
    sys.exit(main())
