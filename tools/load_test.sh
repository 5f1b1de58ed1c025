#!/usr/bin/env bash
# Load benchmark of the service (issue 4; not a test): wrk on loopback against GET /v1/jobs/{id} with 64
# connections for 10 s, first with the service idle, then while a job computes (DINOv2-S/14 on MVTec AD
# bottle images, both cores busy). Prints wrk's requests/s and latency percentiles for both.
# Usage: tools/load_test.sh [BINARY] [DATA]   (defaults: .build/release/anomaly-clustering, ../shared/data)
set -euo pipefail
BIN=${1:-.build/release/anomaly-clustering}
DATA=${2:-../shared/data}
BOTTLE=$DATA/mvtec_ad/bottle/test
PORT=${PORT:-18080}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }

"$BIN" serve --port "$PORT" --data-dir "$WORK/data" 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do curl -fs "localhost:$PORT/healthz" >/dev/null && break; sleep 0.1; done

# upload LABEL... : one multipart job with 10 images per label; prints the job id.
upload() {
  local args=()
  for label in "$@"; do
    for f in $(ls "$BOTTLE/$label" | head -10); do args+=(-F "images=@$BOTTLE/$label/$f;filename=$label/$f"); done
  done
  curl -fs "${args[@]}" "localhost:$PORT/v1/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
status() { curl -fs "localhost:$PORT/v1/jobs/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }

SMALL=$(upload good broken_large)
while [ "$(status "$SMALL")" != succeeded ]; do sleep 0.5; done
echo "== idle: GET /v1/jobs/$SMALL, 64 connections, 10 s"
wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$PORT/v1/jobs/$SMALL" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"

BIG=$(upload good broken_large broken_small contamination)
while [ "$(status "$BIG")" != running ]; do sleep 0.2; done
echo "== while job $BIG computes (40 images, DINOv2-S/14): GET /v1/jobs/$SMALL, 64 connections, 10 s"
wrk -t2 -c64 -d10s --latency "http://127.0.0.1:$PORT/v1/jobs/$SMALL" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
curl -fs "localhost:$PORT/v1/jobs/$BIG" | python3 -c 'import json,sys; j=json.load(sys.stdin); print("job during load:", j["status"], j["stage"], j["progress"])'
echo "server RSS: $(ps -o rss= -p $SERVER) KiB"
