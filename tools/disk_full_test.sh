#!/usr/bin/env bash
# Disk full (issue 7): the service with its data directory on an 8 MiB tmpfs, filled to the byte by a filler
# file: uploads that do not fit get 507 and leave nothing behind (no temporary body, no image file, no job
# row), the job database running out of room (SQLITE_FULL) is a 507 too, a job whose writes find the disk full
# waits for room and then succeeds, the server keeps serving and restarts on a full disk, and the database
# passes integrity_check. Cases and checks: tools/disk_full_test.py. Needs root (mount); exits 1 on a violation.
# Usage: sudo tools/disk_full_test.sh [--bin B] [--images DIR]
#   (defaults: .build/release/anomaly-clustering, ../shared/data/mvtec_ad/bottle/test)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "needs root to mount a tmpfs" >&2; exit 2; }
MOUNT=$(mktemp -d)
LOG=$(mktemp)
mount -t tmpfs -o size=8m,mode=0700 tmpfs "$MOUNT"
trap 'umount "$MOUNT"; rmdir "$MOUNT"; rm -f "$LOG"' EXIT
python3 tools/disk_full_test.py --mount "$MOUNT" --log "$LOG" "$@" || { status=$?; echo "server log: last lines"; tail -20 "$LOG"; exit $status; }
