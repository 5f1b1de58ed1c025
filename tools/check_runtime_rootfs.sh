#!/usr/bin/env bash
# Checks the Dockerfile's runtime stage without a Docker engine (none runs on the development machines):
# debootstraps Debian bookworm (minbase) with exactly the runtime stage's packages, installs the binary built
# with --static-swift-stdlib, the converted weights and config/ where the image puts them, starts
# `serve` as the unprivileged uid 10001 with the image's AC_* environment, and runs the HEALTHCHECK command
# and one small job. Needs root, debootstrap and network access to deb.debian.org.
# Usage: tools/check_runtime_rootfs.sh [ROOTFS]   (default /tmp/ac-rootfs; reused when present)
set -euo pipefail
ROOT=${1:-/tmp/ac-rootfs}
PORT=18099
PACKAGES=$(sed -n 's/^ *libopenblas0-pthread/libopenblas0-pthread/p' Dockerfile | tr -d '\\' | xargs | tr ' ' ',')
[ -n "$PACKAGES" ] || { echo "cannot read the runtime packages from Dockerfile" >&2; exit 1; }
if [ ! -x "$ROOT/usr/bin/curl" ]; then
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT" http://deb.debian.org/debian
fi
swift build -c release --product anomaly-clustering --static-swift-stdlib --scratch-path .build-static
echo "shared libraries: $(ldd .build-static/release/anomaly-clustering | awk '{print $1}' | xargs)"
install -D .build-static/release/anomaly-clustering "$ROOT/usr/local/bin/anomaly-clustering"
mkdir -p "$ROOT/opt/anomaly-clustering/weights"
cp weights/*.safetensors "$ROOT/opt/anomaly-clustering/weights/"
cp -r config "$ROOT/opt/anomaly-clustering/"
chroot "$ROOT" id ac >/dev/null 2>&1 || chroot "$ROOT" useradd --system --uid 10001 --home-dir /var/lib/anomaly-clustering --create-home ac
missing=$(chroot "$ROOT" ldd /usr/local/bin/anomaly-clustering | grep -c "not found" || true)
[ "$missing" = 0 ] || { chroot "$ROOT" ldd /usr/local/bin/anomaly-clustering; exit 1; }

# Swift reads its arguments from /proc/self/cmdline: a container always has /proc, a bare chroot needs it mounted.
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
env -i PATH=/usr/local/bin:/usr/bin:/bin AC_HOST=0.0.0.0 AC_PORT=$PORT AC_DATA_DIR=/var/lib/anomaly-clustering \
    AC_WEIGHTS_DIR=/opt/anomaly-clustering/weights AC_REGISTRY=/opt/anomaly-clustering/config/backbones.json \
    /usr/sbin/chroot --userspec=10001:10001 "$ROOT" \
    sh -c 'cd /opt/anomaly-clustering && exec anomaly-clustering serve --config /opt/anomaly-clustering/config/server.json' &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; sleep 0.5; umount "$ROOT/proc" 2>/dev/null || true' EXIT
for _ in $(seq 50); do chroot "$ROOT" curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
echo "HEALTHCHECK: $(chroot "$ROOT" curl -fsS "http://127.0.0.1:$PORT/healthz")"
IMAGES=Tests/Fixtures/images
ID=$(curl -fs -F "images=@$IMAGES/pillow_rgb_300x200.png;filename=a/1.png" -F "images=@$IMAGES/jpeg_optimized_300x200.jpg;filename=a/2.jpg" \
     -F "images=@$IMAGES/pillow_gray_64x48.png;filename=b/3.png" -F 'options={"backbone":"efficientnet-lite0"}' \
     "localhost:$PORT/v1/jobs" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 100); do
  STATUS=$(curl -fs "localhost:$PORT/v1/jobs/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$STATUS" = succeeded ] || [ "$STATUS" = failed ] && break; sleep 0.3
done
echo "job $ID: $STATUS; process user: $(ps -o user= -p "$(pgrep -f 'anomaly-clustering serve --config /opt' | head -1)")"
[ "$STATUS" = succeeded ]
