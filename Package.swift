// swift-tools-version:6.0
// The anomaly-clustering service: `Engine` (all compute, no HTTP/SQLite) and the `anomaly-clustering`
// executable (command line; the HTTP server comes later). System libraries are wrapped in small targets.
import PackageDescription

// The engine's own loops (softmax, GELU, depthwise convolutions, the distance reductions) are compiled for
// Haswell-level x86-64 (AVX2, FMA) rather than baseline SSE2: measured 15–20 % faster on the ViT forward pass. Every
// machine this service targets has AVX2; other architectures build with the defaults.
#if arch(x86_64)
let engineSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let engineSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "anomaly-clustering",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "anomaly-clustering", targets: ["Server"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", providers: [.apt(["libjpeg62-turbo-dev"])]),
        // epoll and eventfd: Swift's Glibc module leaves these headers out.
        .systemLibrary(name: "CLinux", path: "Sources/CLinux"),
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // SHA-256 blocks on the SHA-NI instructions (checked at run time; the Swift SHA256 is the fallback).
        .target(name: "CSHA256", path: "Sources/CSHA256"),
        // AVX-512 twins of the engine's own loops, each function compiled for AVX-512 by its own target
        // attribute and called only where CPUID reports it (Engine/Layers/VectorKernels.swift). -O3 in debug
        // builds too: `swift test` runs the backbones through them.
        .target(name: "CKernels", path: "Sources/CKernels", cSettings: [.unsafeFlags(["-O3"])]),
        .target(name: "Engine", dependencies: ["CBLAS", "CPNG", "CJPEG", "CKernels"], path: "Sources/Engine", swiftSettings: engineSettings),
        .executableTarget(
            name: "Server",
            dependencies: ["Engine", "CSQLite", "CLinux", "CSHA256", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Server"),
        // Release-only benchmarks; never run by `swift test`.
        .executableTarget(name: "Benchmarks", dependencies: ["Engine", "CBLAS"], path: "Sources/Benchmarks"),
        .executableTarget(name: "BackboneBenchmarks", dependencies: ["Engine"], path: "Sources/BackboneBenchmarks"),
        .executableTarget(name: "ScalableBenchmarks", dependencies: ["Engine"], path: "Sources/ScalableBenchmarks"),
        .testTarget(name: "EngineTests", dependencies: ["Engine"], path: "Tests/EngineTests"),
        .testTarget(name: "ServerTests", dependencies: ["Server", "Engine"], path: "Tests/ServerTests"),
    ]
)
