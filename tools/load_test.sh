#!/usr/bin/env bash
# Load benchmark of the service (issues 4 and 7; not a test): wrk on loopback against GET /v1/jobs/{id} and
# GET /v1/jobs (the list, 20 newest) at 64 and 256 connections, DURATION seconds each (default 30), first with
# the service idle, then while jobs compute (EfficientNet-Lite0 on 60 MVTec AD bottle images; OpenBLAS keeps
# both cores busy, and wrk shares them). One line per run: requests/s, latency p50/p99/max, non-2xx responses
# and socket errors, server VmRSS before/after. Then 500 slow clients (tools/slowloris.py, SLOW_SECONDS each,
# default 60) while curl times /healthz, idle and during a job.
# Usage: tools/load_test.sh [BINARY] [DATA]   (defaults: .build/release/anomaly-clustering, ../shared/data)
#        DURATION=10 SLOW_SECONDS=20 tools/load_test.sh   for a quick run
set -euo pipefail
BIN=${1:-.build/release/anomaly-clustering}
DATA=${2:-../shared/data}
BOTTLE=$DATA/mvtec_ad/bottle/test
PORT=${PORT:-18080}
DURATION=${DURATION:-30}
SLOW_SECONDS=${SLOW_SECONDS:-60}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
cd "$(dirname "$0")/.."

"$BIN" serve --port "$PORT" --data-dir "$WORK/data" --default-backbone efficientnet-lite0 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do curl -fs "localhost:$PORT/healthz" >/dev/null && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT

# upload N LABEL... : one multipart job with N images per label; prints the job id.
upload() {
  local n=$1 args=()
  shift
  for label in "$@"; do
    for f in $(ls "$BOTTLE/$label" | head -"$n"); do args+=(-F "images=@$BOTTLE/$label/$f;filename=$label/$f"); done
  done
  curl -fs "${args[@]}" "localhost:$PORT/v1/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
field() { curl -fs "localhost:$PORT/v1/jobs/$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"; }
rss() { awk '/VmRSS/ {print $2}' /proc/$SERVER/status; }

# run LABEL PATH CONNECTIONS: one wrk run, one line.
run() {
  local before after out
  before=$(rss)
  out=$(wrk -t2 -c"$3" -d"${DURATION}s" --latency "$URL$2")
  after=$(rss)
  echo "$out" | awk -v label="$1" -v path="$2" -v c="$3" -v before="$before" -v after="$after" '
    /Requests\/sec/ {rps = $2}
    /^ +50%/ {p50 = $2} /^ +99%/ {p99 = $2}
    /^ +Latency +[0-9]/ {max = $4}
    /Non-2xx/ {non2xx = $NF}
    /Socket errors/ {errors = $0; sub(/^ *Socket errors: */, "", errors)}
    END {printf "%-5s %-24s %4d  %9s req/s  p50 %8s  p99 %8s  max %8s  non-2xx %s  socket errors: %s  RSS %s -> %s KiB\n",
         label, path, c, rps, p50, p99, max, non2xx ? non2xx : 0, errors ? errors : "none", before, after}'
}

SMALL=$(upload 5 good broken_large)
while [ "$(field "$SMALL" 'j["status"]')" != succeeded ]; do sleep 0.5; done
echo "== $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), wrk -t2 -d${DURATION}s; server pid $SERVER"
for path in "/v1/jobs/$SMALL" /v1/jobs; do
  for c in 64 256; do run idle "$path" "$c"; done
done

# Three long jobs queued, so that one is computing throughout the busy runs.
BUSY=()
for _ in 1 2 3; do BUSY+=("$(upload 15 good broken_large broken_small contamination)"); done
while [ "$(field "${BUSY[0]}" 'j["status"]')" != running ]; do sleep 0.2; done
for path in "/v1/jobs/$SMALL" /v1/jobs; do
  for c in 64 256; do
    run busy "$path" "$c"
    echo "      (after the run: $(curl -fs "localhost:$PORT/v1/jobs?limit=3" | python3 -c 'import json,sys; print(", ".join("%s %s %.2f" % (j["status"], j["stage"], j["progress"]) for j in json.load(sys.stdin)["jobs"]))'))"
  done
done
for id in "${BUSY[@]}"; do curl -fs -X DELETE "localhost:$PORT/v1/jobs/$id" >/dev/null; done

echo "== slow clients, idle"
python3 tools/slowloris.py --port "$PORT" --pid "$SERVER" --clients 500 --seconds "$SLOW_SECONDS" || true
echo "== slow clients, while a job computes"
JOB=$(upload 15 good broken_large broken_small contamination)
python3 tools/slowloris.py --port "$PORT" --pid "$SERVER" --clients 500 --seconds "$SLOW_SECONDS" || true
echo "      (after: job $(field "$JOB" 'j["status"] + " " + str(j["stage"]) + " " + str(j["progress"])'))"
curl -fs -X DELETE "localhost:$PORT/v1/jobs/$JOB" >/dev/null
echo "server VmRSS at the end: $(rss) KiB; open descriptors: $(ls /proc/$SERVER/fd | wc -l)"
