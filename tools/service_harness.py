"""Drives a real `anomaly-clustering serve` process for the hardening scripts (crash_test.py,
disk_full_test.py, load_soak.py): start it on a data directory, wait for /healthz, kill it with SIGKILL or
stop it with SIGTERM, make requests over loopback, build multipart bodies and tiny PNGs, and read the
process's RSS and descriptor count from /proc. Standard library only.
"""
import http.client
import json
import math
import os
import random
import resource
import signal
import socket
import struct
import subprocess
import time
import zlib


def free_port():
    """A TCP port that was free a moment ago (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One service process over `data_dir`; every start appends to `log_path`."""

    def __init__(self, binary, data_dir, log_path, port=None, env=None, args=(), open_files=None):
        """`open_files`: the process's RLIMIT_NOFILE, soft and hard (`ulimit -n`)."""
        self.binary, self.data_dir, self.log_path = binary, data_dir, log_path
        self.port = port or free_port()
        self.env = dict(os.environ, **(env or {}))
        self.args = list(args)
        self.open_files = open_files
        self.process = None
        self.starts = 0

    def start(self, timeout=60):
        """Starts the process and waits until /healthz answers; returns the log offset where this run begins."""
        with open(self.log_path, "ab") as log:
            offset = log.tell()
            log.write(f"=== start {self.starts} ===\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [self.binary, "serve", "--port", str(self.port), "--data-dir", self.data_dir,
                 "--weights-dir", "weights", "--registry", "config/backbones.json",
                 "--default-backbone", "efficientnet-lite0", *self.args],
                stdout=subprocess.DEVNULL, stderr=log, env=self.env, preexec_fn=self._limit)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                if request(self.port, "GET", "/healthz", timeout=1)[0] == 200:
                    return offset
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"server did not answer /healthz within {timeout} s")

    def _limit(self):
        if self.open_files:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))

    @property
    def pid(self):
        return self.process.pid

    def kill(self):
        """SIGKILL, then reap."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        """SIGTERM (graceful: requests finish, a running job stays `running` and runs again at the next start)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=120)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def rss_kib(self):
        """Resident set size (VmRSS) in KiB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def fd_count(self):
        """Open file descriptors."""
        return len(os.listdir(f"/proc/{self.pid}/fd"))


def request(port, method, path, body=None, headers=None, timeout=60):
    """One request on a new connection: (status, headers dict with lower-case names, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def get_json(port, path, timeout=60):
    status, _, body = request(port, "GET", path, timeout=timeout)
    return status, json.loads(body) if body else None


def multipart(parts, boundary="hardening-boundary-3f9a"):
    """(content type, body) of a multipart/form-data form; `parts` are (field, filename or None, bytes)."""
    body = bytearray()
    for field, filename, data in parts:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"'
        if filename is not None:
            head += f'; filename="{filename}"\r\nContent-Type: application/octet-stream'
        body += (head + "\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", bytes(body)


def post_job(port, parts, timeout=120, headers=None):
    """POST /v1/jobs with a multipart form: (status, parsed JSON body or None)."""
    content_type, body = multipart(parts)
    status, _, text = request(port, "POST", "/v1/jobs", body=body,
                              headers={"Content-Type": content_type, **(headers or {})}, timeout=timeout)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, None


def wait_job(port, job_id, timeout=600, interval=0.05):
    """Polls until the job is final; returns its resource."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = get_json(port, f"/v1/jobs/{job_id}")
        if status == 200 and job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(interval)
    raise RuntimeError(f"job {job_id} not final within {timeout} s")


def tiny_png(seed, width=32, height=32):
    """An RGB PNG of seeded noise (about 3 KB at 32×32)."""
    rng = random.Random(seed)
    raw = b"".join(b"\x00" + bytes(rng.randrange(256) for _ in range(width * 3)) for _ in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def percentile(values, p):
    """The p-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]
