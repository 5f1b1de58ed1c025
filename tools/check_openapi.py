#!/usr/bin/env python3
"""Checks openapi.yaml against a live server: starts the built binary twice (without a token, and with a token
and small limits), drives a scripted flow through every path, and checks every response against the document:
the status is documented for that path and method (and is the one the step meant to provoke), the
Content-Type is a documented one, a JSON body validates against the documented schema, required headers are
present and valid, HEAD has no body. Run from anywhere:

    python3 tools/check_openapi.py [BINARY]      (default .build/debug/anomaly-clustering)

Prints one line per problem, then `openapi conformance: N responses checked, M problems`; exits 1 when there
is any problem. Needs PyYAML, jsonschema and referencing (jsonschema's dependency). Jobs run the real
EfficientNet-Lite0 weights on a few tiny fixture images; without weights/efficientnet_lite0.safetensors the
check is skipped, or fails when CI=true (as the Swift tests do).

Requests are written by hand on raw sockets, one connection each (`Connection: close`), because several steps
send what no HTTP library would: a missing Host, an oversized head, HTTP/2.0, a stalled head.
"""
import argparse
import io
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "images")
WEIGHTS = os.path.join(ROOT, "weights", "efficientnet_lite0.safetensors")
# The document is registered under this URI so that its local `#/components/...` references resolve.
SPEC_URI = "urn:openapi"
TOKEN = "openapi-check-token-0123456789"
UNKNOWN_ID = "0" * 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HTTP_METHODS = ["get", "head", "post", "put", "patch", "delete", "options", "trace"]
# Two groups that look different (grey and colour), small so that a debug build clusters them in seconds.
GROUPS = [("gray", "jpeg_gray_37x23.jpg"), ("gray", "png_gray8_37x23.png"),
          ("photo", "png_rgb8_16x16.png"), ("photo", "jpeg_baseline420_64x48.jpg")]
# A PNG whose header probes fine but whose pixel data has a bad CRC: accepted, then the job fails decoding it.
FAILS_TO_DECODE = "broken_png_bad_crc_idat.png"
# One line of the Prometheus text format 0.0.4: a comment, or `name{labels} value`.
PROMETHEUS_LINE = re.compile(r'^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*'
                             r'|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? ([0-9.eE+-]+|[+-]?Inf|NaN))$')


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


# MARK: HTTP on raw sockets

class Response:
    def __init__(self, status, headers, body, framing_problem=None):
        self.status = status
        self.headers = headers  # [(name, value)] in order
        self.body = body
        self.framing_problem = framing_problem

    def header(self, name):
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)


def encode_request(method, target, headers=(), body=None, token=None, version="HTTP/1.1", host=True):
    """The bytes of a request. Content-Length is added for a body unless the caller frames it."""
    lines = [f"{method} {target} {version}"]
    if host:
        lines.append("Host: 127.0.0.1")
    lines.append("Connection: close")
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines += [f"{name}: {value}" for name, value in headers]
    framed = any(name.lower() in ("content-length", "transfer-encoding") for name, _ in headers)
    if body is not None and not framed:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def read_response(sock, is_head):
    """Reads until the server closes (every request says `Connection: close`) and parses the final response."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    # Skip interim responses (100 Continue).
    while data.startswith(b"HTTP/1.1 1"):
        data = data[data.index(b"\r\n\r\n") + 4:]
    if b"\r\n\r\n" not in data:
        raise ConnectionError(f"no complete response head in {data[:200]!r}")
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
    response = Response(status, headers, body)
    length = response.header("Content-Length")
    if is_head:
        if body:
            response.framing_problem = f"HEAD response has {len(body)} body bytes"
    elif length is not None and int(length) != len(body):
        response.framing_problem = f"Content-Length {length} but {len(body)} body bytes"
    return response


def exchange(port, data, is_head=False, timeout=30):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        return read_response(sock, is_head)


def multipart(parts):
    """(content type, body) of a form; parts are (name, filename or None, bytes)."""
    boundary = "check-openapi-7d3f9a"
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def tar_archive(files):
    """A tar of (path, bytes)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, data in files:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


# MARK: The server

class Server:
    """One `anomaly-clustering serve` on a port the kernel picks, with its own data directory and log file."""

    def __init__(self, binary, workdir, name, flags=(), env=None):
        self.name = name
        self.log_path = os.path.join(workdir, name + ".log")
        # A developer's AC_TOKEN or AC_PORT must not change what is being checked.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("AC_")}
        environment.update(env or {})
        self.log = open(self.log_path, "wb")
        # cwd = the repository: config/server.json, config/backbones.json and weights/ are found from there.
        self.process = subprocess.Popen(
            [binary, "serve", "--port", "0", "--data-dir", os.path.join(workdir, name),
             "--default-backbone", "efficientnet-lite0", *flags],
            cwd=ROOT, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._wait_for_port()

    def _wait_for_port(self):
        # The server logs "listening on HOST:PORT; ..." once bound; --port 0 leaves the choice to the kernel,
        # so two checks never race for a port.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                found = re.search(rb"listening on \S+:(\d+);", f.read())
            if found:
                return int(found.group(1))
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        with open(self.log_path, "rb") as f:
            sys.exit(f"check_openapi: server '{self.name}' did not start:\n{f.read().decode(errors='replace')}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# MARK: The document

class Spec:
    def __init__(self, path):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        self.registry = Registry().with_resource(
            SPEC_URI, Resource.from_contents(self.doc, default_specification=DRAFT202012))
        # (regex, template) for each path, literal segments first so that no template shadows another.
        self.templates = []
        for template in self.doc["paths"]:
            pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/?]+", re.escape(template)) + "$"
            self.templates.append((re.compile(pattern), template))

    def schema_problems(self):
        """Component schemas that are not valid JSON Schema 2020-12."""
        problems = []
        for name, schema in self.doc["components"]["schemas"].items():
            try:
                Draft202012Validator.check_schema(schema)
            except Exception as error:  # SchemaError: report and go on
                problems.append(f"openapi.yaml: schema {name} is not valid JSON Schema: {error}")
        return problems

    def template(self, target):
        path = target.split("?", 1)[0]
        return next((template for pattern, template in self.templates if pattern.match(path)), None)

    def get(self, pointer):
        node = self.doc
        for token in pointer.strip("/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node

    def resolve(self, pointer):
        """Follows `$ref`s from the object at `pointer`; returns (pointer, object)."""
        node = self.get(pointer)
        while "$ref" in node:
            pointer = node["$ref"][1:]
            node = self.get(pointer)
        return pointer, node

    def validate(self, pointer, instance, what="(body)"):
        """Error messages of `instance` against the schema at `pointer`; `what` names the instance itself."""
        validator = Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry,
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [f"{'/'.join(map(str, e.absolute_path)) or what}: {e.message}" for e in errors]


def escape(token):
    return token.replace("~", "~0").replace("/", "~1")


def media_matches(documented, content_type):
    """The documented media type matches: same type/subtype; a documented parameter must be there too."""
    def split(value):
        parts = [p.strip() for p in value.split(";")]
        return parts[0].lower(), {p.split("=", 1)[0].lower(): p.split("=", 1)[-1] for p in parts[1:] if p}
    documented_type, documented_parameters = split(documented)
    actual_type, actual_parameters = split(content_type)
    return documented_type == actual_type and all(
        actual_parameters.get(k) == v for k, v in documented_parameters.items())


# MARK: Checking responses

class Checker:
    def __init__(self, spec):
        self.spec = spec
        self.checked = 0
        self.problems = list(spec.schema_problems())
        self.covered = set()  # (template, method, status)

    def documented(self, method, template):
        """status → pointer of its response object, for this method and path, and the path's methods."""
        paths = self.spec.doc["paths"]
        unauthorized = "/components/responses/Unauthorized"
        if template is None:  # not a path of the document
            return {"404": "/components/responses/NotFound", "401": unauthorized}, None
        methods = [m.upper() for m in paths[template] if m in HTTP_METHODS]
        if method.lower() not in paths[template]:
            return {"405": "/components/responses/MethodNotAllowed", "501": "/components/responses/NotImplemented",
                    "401": unauthorized}, methods
        base = f"/paths/{escape(template)}/{method.lower()}/responses"
        return {status: f"{base}/{status}" for status in paths[template][method.lower()]["responses"]}, methods

    def check(self, label, method, target, response, expect=None):
        self.checked += 1
        template = self.spec.template(target)
        found = []
        documented, methods = self.documented(method, template)
        status = str(response.status)
        if expect is not None and response.status != expect:
            found.append(f"expected {expect}")
        if response.framing_problem:
            found.append(response.framing_problem)
        if status not in documented:
            found.append(f"status {status} is not documented for {method} {template or '(unknown path)'}"
                         f" (documented: {', '.join(sorted(documented))})")
        else:
            self.covered.add((template, method, status))
            found += self.check_documented(method, response, *self.spec.resolve(documented[status]))
        if status == "405":
            found += self.check_allow(method, response, methods)
        for what in found:
            self.problems.append(f"{label}: {method} {shorten(target)} → {status}: {what}")
        return response

    def check_documented(self, method, response, pointer, documented):
        found = []
        for name, header in documented.get("headers", {}).items():
            header_pointer, header = self.spec.resolve(f"{pointer}/headers/{escape(name)}")
            value = response.header(name)
            if value is None:
                if header.get("required"):
                    found.append(f"required header {name} is missing")
                continue
            if header["schema"].get("type") == "integer":
                value = int(value) if value.isdigit() else value
            found += self.spec.validate(f"{header_pointer}/schema", value, what=f"header {name}")
        content = documented.get("content")
        content_type = response.header("Content-Type")
        if not content:
            if content_type is not None or response.body:
                found.append(f"no content is documented, but the response has Content-Type {content_type!r}"
                             f" and {len(response.body)} body bytes")
            return found
        if content_type is None:
            return found + ["Content-Type is missing"]
        media = next((m for m in content if media_matches(m, content_type)), None)
        if media is None:
            return found + [f"Content-Type {content_type!r} is not documented (documented: {', '.join(content)})"]
        if method == "HEAD":
            return found  # no body to check; read_response already checked there is none
        schema_pointer = f"{pointer}/content/{escape(media)}/schema"
        if media == "application/json":
            try:
                body = json.loads(response.body)
            except ValueError as error:
                return found + [f"body is not JSON ({error}): {response.body[:200]!r}"]
            found += self.spec.validate(schema_pointer, body)
        elif media == "image/png":
            if not response.body.startswith(PNG_SIGNATURE):
                found.append("body is not a PNG")
        elif media.startswith("text/plain"):
            try:
                text = response.body.decode("utf-8")
            except UnicodeDecodeError:
                return found + ["body is not UTF-8"]
            if "version=0.0.4" in media:
                found += [f"not a Prometheus line: {line!r}" for line in text.splitlines()
                          if not PROMETHEUS_LINE.match(line)][:5]
        return found

    def check_allow(self, method, response, methods):
        allow = [m.strip() for m in (response.header("Allow") or "").split(",") if m.strip()]
        found = []
        if methods is not None and sorted(allow) != sorted(methods):
            found.append(f"Allow is {', '.join(allow)}; the document lists {', '.join(methods)}")
        if method in allow:
            found.append(f"405 for {method}, yet Allow lists {method}")
        return found

    def uncovered(self):
        """Documented (template, method, status) that no step provoked."""
        missing = []
        for template, item in self.spec.doc["paths"].items():
            for method in (m for m in item if m in HTTP_METHODS):
                for status in item[method]["responses"]:
                    if (template, method.upper(), status) not in self.covered:
                        missing.append(f"{method.upper()} {template} {status}")
        return missing


def shorten(target):
    return target if len(target) <= 80 else target[:60] + f"…({len(target)} characters)"


class Client:
    """Sends requests to one server and has each response checked."""

    def __init__(self, server, checker, token=None):
        self.port = server.port
        self.checker = checker
        self.token = token

    def send(self, method, target, headers=(), body=None, token=None):
        data = encode_request(method, target, headers, body, token=token or self.token)
        return exchange(self.port, data, is_head=method == "HEAD")

    def call(self, label, method, target, expect, headers=(), body=None, token=None):
        return self.checker.check(label, method, target, self.send(method, target, headers, body, token), expect)

    def raw(self, label, method, target, data, expect):
        """A hand-made request (a protocol error), checked as `method target`."""
        return self.checker.check(label, method, target, exchange(self.port, data, is_head=method == "HEAD"), expect)

    def upload(self, label, parts, expect, target="/v1/jobs", headers=()):
        content_type, body = multipart(parts)
        return self.call(label, "POST", target, expect, [("Content-Type", content_type), *headers], body)

    def wait_for_job(self, label, job_id, final, timeout=90):
        """Polls until the job's status is in `final`; each new (status, stage) seen is checked once."""
        seen = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            response = self.send("GET", f"/v1/jobs/{job_id}")
            job = json.loads(response.body) if response.status == 200 else {}
            state = (response.status, job.get("status"), job.get("stage"))
            if state not in seen:
                seen.add(state)
                self.checker.check(f"{label} ({state[1]}, {state[2]})", "GET", f"/v1/jobs/{job_id}", response, 200)
            if response.status != 200 or job.get("status") in final:
                return job
            time.sleep(0.05)
        self.checker.problems.append(f"{label}: job {job_id} not {'/'.join(final)} within {timeout} s")
        return {}


# MARK: The scripted flow

def image_parts(name="images"):
    return [(name, f"{label}/{file}", fixture(file)) for label, file in GROUPS]


def job_id(response):
    try:
        return json.loads(response.body)["id"]
    except (ValueError, KeyError, TypeError):
        return UNKNOWN_ID


def open_server(binary, workdir, checker):
    """Without a token; a queue of 1 so that a third upload meets a full queue."""
    # max_exact_seconds 1: the 6-image jobs below stay under it, the 24-image upload does not (422).
    server = Server(binary, workdir, "open", flags=["--queue-limit", "1"], env={"AC_MAX_EXACT_SECONDS": "1"})
    api = Client(server, checker)
    try:
        # The service routes, and the empty listing.
        for target in ["/healthz", "/v1/backbones", "/metrics", "/v1/jobs"]:
            api.call("service", "GET", target, 200)
            api.call("service", "HEAD", target, 200)

        # A job on four labelled images; while it is not finished, its clusters and heat maps are 409.
        first_options = ("options", None, b'{"tau": 1, "mode": "unsupervised"}')
        key = [("Idempotency-Key", "openapi-check-1")]
        first = api.upload("upload", image_parts() + [first_options], 202, headers=key)
        first_id = job_id(first)
        # Repeated with its Idempotency-Key: the same job (200); the key with other options: 422; a bad key: 400.
        api.upload("repeated upload", image_parts() + [first_options], 200, headers=key)
        api.upload("reused key", image_parts(), 422, headers=key)
        api.upload("bad key", image_parts(), 400, headers=[("Idempotency-Key", "two words")])
        for method in ["GET", "HEAD"]:
            api.call("unfinished", method, f"/v1/jobs/{first_id}/clusters", 409)
            api.call("unfinished", method, f"/v1/jobs/{first_id}/images/0/alpha.png", 409)
        api.wait_for_job("first job", first_id, {"running", "succeeded", "failed"})

        # While it runs, a tar upload with every option in the query waits in the queue (the queue holds
        # one), and the next upload is refused with 429. The tar's second image fails to decode, so the
        # job fails: the failed shape of the resource.
        tar = tar_archive([("a/good.png", fixture("png_rgb8_16x16.png")), ("b/bad.png", fixture(FAILS_TO_DECODE))])
        query = "backbone=efficientnet-lite0&mode=unsupervised&tau=0.5&clusters=2&exclude=zzz&resize=64&crop=56"
        second = api.call("tar upload", "POST", f"/v1/jobs?{query}", 202, [("Content-Type", "application/x-tar")], tar)
        second_id = job_id(second)
        api.call("queued", "GET", f"/v1/jobs/{second_id}/clusters", 409)
        api.upload("queue full", image_parts(), 429)

        # The finished job: resource, clusters, heat maps, listing pages.
        api.wait_for_job("first job", first_id, {"succeeded", "failed", "cancelled"})
        for method in ["GET", "HEAD"]:
            api.call("finished", method, f"/v1/jobs/{first_id}", 200)
            api.call("finished", method, f"/v1/jobs/{first_id}/clusters", 200)
            api.call("finished", method, f"/v1/jobs/{first_id}/images/3/alpha.png", 200)
        api.call("no such image", "GET", f"/v1/jobs/{first_id}/images/4/alpha.png", 404)
        api.call("bad image number", "GET", f"/v1/jobs/{first_id}/images/x/alpha.png", 400)
        api.call("bad image number", "HEAD", f"/v1/jobs/{first_id}/images/01/alpha.png", 400)
        api.wait_for_job("failing job", second_id, {"succeeded", "failed", "cancelled"})
        api.call("failed", "GET", f"/v1/jobs/{second_id}/clusters", 409)
        api.call("failed", "GET", f"/v1/jobs/{second_id}/images/0/alpha.png", 409)
        page = api.call("listing", "GET", "/v1/jobs?limit=1", 200)
        cursor = (json.loads(page.body) if page.status == 200 else {}).get("next") or "0-x"
        api.call("listing", "GET", f"/v1/jobs?limit=1&before={cursor}", 200)
        api.call("listing", "HEAD", f"/v1/jobs?limit=100&before={cursor}", 200)
        for query in ["limit=0", "limit=101", "limit=ten", "before=x"]:
            api.call("bad listing", "GET", f"/v1/jobs?{query}", 400)
        api.call("bad listing", "HEAD", "/v1/jobs?limit=0", 400)

        # Upload errors (the queue is empty again, so these reach the body).
        def options(text):
            return ("options", None, text.encode())
        api.upload("options not JSON", image_parts() + [options('{"tau": ')], 400)
        api.upload("unknown option", image_parts() + [options('{"colour": "red"}')], 400)
        api.upload("tau < 0", image_parts() + [options('{"tau": -1}')], 400)
        api.upload("clusters > images", image_parts() + [options('{"clusters": 5}')], 400)
        api.upload("semi-supervised without normals", image_parts() + [options('{"mode": "semi-supervised"}')], 400)
        api.upload("query on multipart", image_parts(), 400, target="/v1/jobs?tau=1")
        api.upload("no images", [options("{}")], 400)
        api.upload("missing filename", [("images", None, b"x")], 400)
        api.upload("unknown form field", [("pictures", "a.png", b"x")], 400)
        api.upload("parent reference", [("images", "../a.png", b"x")], 400)
        api.call("missing boundary", "POST", "/v1/jobs", 400, [("Content-Type", "multipart/form-data")], b"x")
        content_type, body = multipart(image_parts())
        api.call("unterminated part", "POST", "/v1/jobs", 400, [("Content-Type", content_type)], body[:-20])
        api.call("tar checksum", "POST", "/v1/jobs", 400, [("Content-Type", "application/x-tar")], b"x" * 1024)
        api.call("tar option", "POST", "/v1/jobs?clusters=0", 400, [("Content-Type", "application/x-tar")], tar)
        api.call("bad chunk", "POST", "/v1/jobs", 400,
                 [("Content-Type", content_type), ("Transfer-Encoding", "chunked")], b"zz\r\n")
        api.call("media type", "POST", "/v1/jobs", 415, [("Content-Type", "image/png")], fixture("png_rgb8_1x1.png"))
        api.upload("corrupt images", image_parts() + [("images", "gray/broken.png", fixture("broken_png_truncated.png"))], 422)
        api.upload("too expensive", [(name, f"{round}-{filename}", data)
                                     for round in range(4) for (name, filename, data) in image_parts()], 422)

        # Not found, and methods a path does not take (the document's 405 rule, checked against Allow).
        for method in ["GET", "HEAD", "DELETE"]:
            api.call("unknown job", method, f"/v1/jobs/{UNKNOWN_ID}", 404)
        api.call("unknown job", "GET", f"/v1/jobs/{UNKNOWN_ID}/clusters", 404)
        api.call("unknown job", "GET", f"/v1/jobs/{UNKNOWN_ID}/images/0/alpha.png", 404)
        api.call("unknown path", "GET", "/v2/things", 404)
        for method, target in [("PUT", "/v1/jobs"), ("PATCH", f"/v1/jobs/{first_id}"),
                               ("POST", f"/v1/jobs/{first_id}/clusters"), ("DELETE", f"/v1/jobs/{first_id}/images/0/alpha.png"),
                               ("POST", "/v1/backbones"), ("POST", "/healthz"), ("DELETE", "/metrics")]:
            api.call("method", method, target, 405)
        api.call("unknown method", "FOO", "/healthz", 501)

        # Protocol errors, answered before any route.
        api.raw("no Host", "GET", "/v1/jobs", encode_request("GET", "/v1/jobs", host=False), 400)
        api.raw("bad target", "GET", "/v1/jobs/<x>", encode_request("GET", "/v1/jobs/<x>"), 400)
        api.raw("length and chunked", "POST", "/v1/jobs", encode_request(
            "POST", "/v1/jobs", [("Content-Length", "3"), ("Transfer-Encoding", "chunked")], b"abc"), 400)
        api.call("long request line", "GET", "/v1/jobs?pad=" + "a" * 9000, 414)
        api.call("expectation", "GET", f"/v1/jobs/{first_id}", 417, [("Expect", "tea")])
        api.call("large head", "GET", "/v1/backbones", 431, [("X-Padding", "a" * 17 * 1024)])
        api.call("many fields", "GET", "/metrics", 431, [(f"X-Field-{i}", "1") for i in range(101)])
        api.call("transfer coding", "POST", "/v1/jobs", 501,
                 [("Content-Type", content_type), ("Transfer-Encoding", "gzip, chunked")], b"0\r\n\r\n")
        api.raw("version", "GET", "/healthz", encode_request("GET", "/healthz", version="HTTP/2.0"), 505)

        # A body on a route that takes none. Which status the server should give is its choice, but it must
        # be a documented one, and a 405 must not list the method it refuses.
        api.call("body on GET", "GET", "/v1/jobs", 200, [("Content-Type", "text/plain")], b"x")
        api.call("body on DELETE", "DELETE", f"/v1/jobs/{UNKNOWN_ID}", 404, [("Content-Type", "application/json")], b"{}")

        # Normal references (semi-supervised by default), then a DELETE of the job while it is queued or running.
        third = api.upload("normals", image_parts() + [("normal", "good.png", fixture("png_rgb8_37x23.png"))], 202)
        for job in [job_id(third), first_id, second_id]:
            api.call("delete", "DELETE", f"/v1/jobs/{job}", 204)
        api.call("deleted", "GET", f"/v1/jobs/{first_id}", 404)
        api.call("metrics", "GET", "/metrics", 200)
    finally:
        server.stop()


def guarded_server(binary, workdir, checker):
    """With a token, a 1 KiB body limit, one image per job, a 1 s header timeout and two connections."""
    server = Server(binary, workdir, "guarded", flags=["--max-body-bytes", "1024"], env={
        "AC_TOKEN": TOKEN, "AC_MAX_IMAGES": "1", "AC_HEADER_TIMEOUT": "1", "AC_MAX_CONNECTIONS": "2"})
    anonymous, api = Client(server, checker), Client(server, checker, token=TOKEN)
    try:
        for method in ["GET", "HEAD"]:
            anonymous.call("open", method, "/healthz", 200)
        # Every operation needs the token (401 with a challenge), before it looks at the path or method.
        targets = ["/v1/jobs", f"/v1/jobs/{UNKNOWN_ID}", f"/v1/jobs/{UNKNOWN_ID}/clusters",
                   f"/v1/jobs/{UNKNOWN_ID}/images/0/alpha.png", "/v1/backbones", "/metrics"]
        for target in targets:
            for method in ["GET", "HEAD"]:
                anonymous.call("no token", method, target, 401)
        anonymous.call("no token", "DELETE", f"/v1/jobs/{UNKNOWN_ID}", 401)
        anonymous.upload("no token", [("images", "a.png", fixture("png_rgb8_1x1.png"))], 401)
        anonymous.call("no token", "GET", "/v2/things", 401)
        anonymous.call("no token", "PUT", "/v1/jobs", 401)
        anonymous.call("wrong token", "GET", "/v1/jobs", 401, token=TOKEN + "x")
        anonymous.call("basic scheme", "GET", "/v1/jobs", 401, [("Authorization", "Basic YTpi")])
        api.call("token", "GET", "/v1/jobs", 200)
        api.call("token", "GET", "/v1/backbones", 200)
        api.call("token", "GET", f"/v1/jobs/{UNKNOWN_ID}", 404)

        # Limits: a body over max_body_bytes is refused from its Content-Length alone (no body is sent),
        # and an upload of more images than max_images.
        api.raw("body limit", "POST", "/v1/jobs", encode_request(
            "POST", "/v1/jobs", [("Content-Type", "application/x-tar"), ("Content-Length", "5000")], token=TOKEN), 413)
        api.raw("body limit", "GET", "/healthz", encode_request("GET", "/healthz", [("Content-Length", "5000")]), 413)
        api.upload("image limit", [("images", f"{n}.png", fixture("png_rgb8_1x1.png")) for n in range(2)], 413)

        # A client that stops half-way through its head: 408 after the 1 s header timeout.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
            slow.sendall(b"GET /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            checker.check("slow client", "GET", "/v1/jobs", read_response(slow, False), 408)

        # Two idle connections fill the server; a third is answered 503 at once.
        time.sleep(0.2)  # let the server see the earlier connections close
        idle = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(2)]
        try:
            time.sleep(0.2)  # accepted before the third
            response = exchange(server.port, encode_request("GET", "/healthz"))
            checker.check("connection limit", "GET", "/healthz", response, 503)
        finally:
            for sock in idle:
                sock.close()
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("binary", nargs="?", default=os.path.join(ROOT, ".build", "debug", "anomaly-clustering"))
    parser.add_argument("--spec", default=os.path.join(ROOT, "openapi.yaml"))
    parser.add_argument("--verbose", action="store_true", help="also list documented statuses no step provoked")
    args = parser.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.exit(f"check_openapi: no executable at {binary} (swift build first)")
    if not os.path.exists(WEIGHTS):
        message = f"check_openapi: {os.path.relpath(WEIGHTS, ROOT)} is missing (make weights)"
        if os.environ.get("CI") == "true":
            sys.exit(message)
        print(message + "; skipped")
        return

    checker = Checker(Spec(args.spec))
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="check-openapi-") as workdir:
        try:
            open_server(binary, workdir, checker)
            guarded_server(binary, workdir, checker)
        except (OSError, ValueError) as error:
            checker.problems.append(f"the flow stopped: {type(error).__name__}: {error}")
            for name in ["open", "guarded"]:
                path = os.path.join(workdir, name + ".log")
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        print(f"--- {name} server log (last lines)\n" + "".join(f.readlines()[-20:]))

    for problem in checker.problems:
        print(problem)
    uncovered = checker.uncovered()
    if args.verbose:
        for item in uncovered:
            print(f"not provoked: {item}")
    print(f"openapi conformance: {checker.checked} responses checked, {len(checker.problems)} problems"
          f" ({len(checker.covered)} documented statuses seen, {len(uncovered)} not provoked; {time.monotonic() - started:.1f} s)")
    sys.exit(1 if checker.problems else 0)


if __name__ == "__main__":
    main()
