#!/usr/bin/env bash
# Crash safety of the service (issue 7): 20 jobs while the server is killed with SIGKILL at seeded random
# moments (mid-upload, while the images are staged, just after the 202, during features, during α, inside the
# result transaction) and restarted on the same data directory; then every acknowledged job must have
# completed once with the clusters of an uninterrupted run, no image missing or stray, integrity_check ok.
# Prints a table; exits 1 on any violation. The driver is tools/crash_test.py (its docstring has the details).
# Usage: tools/crash_test.sh [--bin B] [--images DIR] [--jobs N] [--seed S] [--keep DIR]
#   (defaults: .build/release/anomaly-clustering, ../shared/data/mvtec_ad/bottle/test, 20, 2026)
# Needs the release build and weights/efficientnet_lite0.safetensors; about 5 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 tools/crash_test.py "$@"
