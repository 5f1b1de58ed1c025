#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Fuzz/Harnesses with AddressSanitizer (leak detection on) and runs each
# on a fresh copy of its seed corpus, Fuzz/Corpus/<harness>/. Run from anywhere:
#
#   tools/fuzz.sh all -max_total_time=20     smoke run, 20 s per harness (also what no flags means)
#   tools/fuzz.sh tar -runs=1000000          one harness, one million executions (docs/HARDENING.md)
#
# Harnesses: http multipart tar png jpeg npy safetensors options. Any other arguments go to libFuzzer.
# Everything is built in .build-fuzz/: Engine once as an instrumented static library (rebuilt when one of
# its sources changes); each harness from its own files plus the Server files it needs, listed in
# `harness_sources` below, the one place they are named (Server is an executable target, so its files are
# compiled into the harness). New inputs go to .build-fuzz/corpus/<harness>/, crash, leak and timeout
# inputs to .build-fuzz/artifacts/<harness>/, libFuzzer's output to .build-fuzz/logs/<harness>.log.
# Prints executions, wall time, exec/s and final coverage per harness; exits 1 if any harness failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"

ALL=(http multipart tar png jpeg npy safetensors options)
OUT=.build-fuzz
C_MODULES=(-I Sources/CBLAS -I Sources/CPNG -I Sources/CJPEG -I Sources/CKernels/include)

# The files compiled into each harness: the harness, its support files, and the Server sources it reaches.
harness_sources() {
    local http=Sources/Server/HTTP uploads=Sources/Server/Uploads
    local syntax="$http/HTTPSyntax.swift $http/HTTPHeaders.swift $http/HTTPParameterizedValue.swift"
    syntax+=" $http/JSONString.swift"
    local target="$http/HTTPRequestTarget.swift $http/PercentDecoding.swift $http/HTTPMethod.swift"
    echo -n "Fuzz/Support/FuzzSupport.swift "
    case "$1" in
    http)
        echo "Fuzz/Harnesses/FuzzHTTP.swift $syntax $target $http/HTTPRequestParser.swift" \
            "$http/HTTPRequestParser+Head.swift $http/HTTPLimits.swift $http/HTTPParserError.swift" \
            "$http/HTTPRequestHead.swift $http/HTTPConnectionStateMachine.swift $http/HTTPServerResponse.swift" \
            "$http/HTTPResponse.swift $http/HTTPServerConfiguration.swift $http/HTTPServerMetrics.swift" \
            "$http/HTTPDate.swift" ;;
    multipart)
        echo "Fuzz/Harnesses/FuzzMultipart.swift $syntax $uploads/MultipartParser.swift" \
            "$uploads/MultipartPartHead.swift $uploads/MultipartError.swift $uploads/UploadName.swift" ;;
    tar)
        echo "Fuzz/Harnesses/FuzzTar.swift $syntax $uploads/TarReader.swift $uploads/TarHeader.swift" \
            "$uploads/TarPaxRecords.swift $uploads/TarPath.swift $uploads/TarError.swift $uploads/UploadName.swift" ;;
    png) echo "Fuzz/Harnesses/FuzzPNG.swift Fuzz/Support/FuzzImage.swift" ;;
    jpeg) echo "Fuzz/Harnesses/FuzzJPEG.swift Fuzz/Support/FuzzImage.swift" ;;
    npy) echo "Fuzz/Harnesses/FuzzNPY.swift" ;;
    safetensors) echo "Fuzz/Harnesses/FuzzSafeTensors.swift" ;;
    options)
        echo "Fuzz/Harnesses/FuzzJobOptions.swift $syntax $target Sources/Server/Jobs/JobOptions.swift" ;;
    *) echo "unknown harness '$1'; expected one of: ${ALL[*]} or all" >&2; return 1 ;;
    esac
}

# Whether $1 exists and is newer than every other argument.
up_to_date() {
    local target=$1
    shift
    [[ -e $target ]] && [[ -z $(find "$@" -newer "$target" 2>/dev/null | head -n 1) ]]
}

build_engine() {
    local engine_sources
    engine_sources=$(find Sources/Engine -name '*.swift' | sort)
    up_to_date "$OUT/engine/libEngine.a" $engine_sources Sources/CKernels/avx512.c && return
    echo "building Engine (instrumented static library, about 2 minutes)"
    mkdir -p "$OUT/engine"
    # The AVX-512 kernels (Sources/CKernels), linked beside Engine as in the SwiftPM build.
    clang -O3 -c Sources/CKernels/avx512.c -I Sources/CKernels/include -o "$OUT/engine/CKernels.o"
    rm -f "$OUT/engine/libCKernels.a"
    ar rcs "$OUT/engine/libCKernels.a" "$OUT/engine/CKernels.o"
    swiftc -emit-library -static -emit-module -module-name Engine -parse-as-library -O \
        -sanitize=fuzzer,address "${C_MODULES[@]}" $engine_sources \
        -o "$OUT/engine/libEngine.a" -emit-module-path "$OUT/engine/Engine.swiftmodule"
}

build_harness() {
    local name=$1 sources
    sources=$(harness_sources "$name")
    up_to_date "$OUT/fuzz-$name" $sources "$OUT/engine/libEngine.a" && return
    echo "building fuzz-$name"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -use-ld=lld -module-name Fuzz \
        -I "$OUT/engine" "${C_MODULES[@]}" $sources -L "$OUT/engine" -lEngine -lCKernels -lopenblas -lpng -ljpeg \
        -o "$OUT/fuzz-$name"
}

# Runs one harness with the libFuzzer flags in the remaining arguments; prints its figures.
run_harness() {
    local name=$1 corpus=$OUT/corpus/$1 artifacts=$OUT/artifacts/$1/ log=$OUT/logs/$1.log
    shift
    rm -rf "$corpus"
    mkdir -p "$corpus" "$artifacts" "$OUT/logs"
    cp Fuzz/Corpus/"$name"/* "$corpus"/
    local start end status=0
    start=$(date +%s.%N)
    # -timeout: an input that takes over 10 s is reported like a crash (the slowest seen take milliseconds).
    # SWIFT_BACKTRACE: a failed check ends in a plain trap that libFuzzer reports, not in the Swift
    # backtracer, which ASan flags as a stack-buffer-underflow of its own.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1 "$OUT/fuzz-$name" -print_final_stats=1 -timeout=10 \
        -artifact_prefix="$artifacts" "$@" "$corpus" >"$log" 2>&1 || status=$?
    end=$(date +%s.%N)
    local runs coverage
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    # libFuzzer's last status line: edges covered (cov), features (ft), corpus inputs/bytes (corp).
    coverage=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -n 1)
    awk -v name="$name" -v runs="${runs:-0}" -v start="$start" -v end="$end" -v status="$status" \
        -v coverage="$coverage" 'BEGIN {
        seconds = end - start
        printf "%-12s %10d executions %8.1f s %8.0f exec/s  %-34s %s\n", name, runs, seconds, runs / seconds,
            coverage, status == 0 ? "ok" : "FAILED (exit " status ")"
    }'
    if [[ $status -ne 0 ]]; then
        grep -E "ERROR|SUMMARY|fuzz invariant|Fatal error|Test unit written" "$log" | head -n 20 || true
        echo "full output: $log"
    fi
    return "$status"
}

which=${1:-all}
shift || true
flags=("$@")
[[ ${#flags[@]} -gt 0 ]] || flags=(-max_total_time=20)
if [[ $which == all ]]; then harnesses=("${ALL[@]}"); else harnesses=("$which"); fi
for name in "${harnesses[@]}"; do harness_sources "$name" >/dev/null; done

build_engine
for name in "${harnesses[@]}"; do build_harness "$name"; done
failed=0
for name in "${harnesses[@]}"; do run_harness "$name" "${flags[@]}" || failed=1; done
exit "$failed"
