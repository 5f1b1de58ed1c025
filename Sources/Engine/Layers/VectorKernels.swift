// Which implementation of the engine's own hot loops runs: the AVX-512 kernels in Sources/CKernels (C with
// intrinsics, compiled for AVX-512 function by function) when the CPU and the OS support AVX-512, else the
// Swift loops, compiled for Haswell (AVX2/FMA, Package.swift). Decided once per process from CPUID; the
// environment variable AC_VECTOR_KERNELS=avx2 forces the Swift loops on an AVX-512 CPU, so that both can be
// measured on one machine. Each call site keeps its Swift loop as the twin (tests: AVX512KernelTests).
import CKernels
import Foundation

/// The instruction set of the engine's own vector loops.
public enum VectorKernels {
    /// Whether this CPU can run the AVX-512 kernels (CPUID and XCR0), whatever AC_VECTOR_KERNELS says.
    public static let cpuHasAVX512 = ac_cpu_has_avx512() != 0

    /// Whether the AVX-512 kernels run in this process.
    public static let avx512 = cpuHasAVX512 && ProcessInfo.processInfo.environment["AC_VECTOR_KERNELS"] != "avx2"

    /// "avx512" or "avx2", for reports (BackboneBenchmarks' header line).
    public static var name: String { avx512 ? "avx512" : "avx2" }

    /// The CPU as benchmark reports and `--version` name it: the model (/proc/cpuinfo's "model name", with
    /// family and model numbers, since VMs often say only "AMD EPYC"), the logical CPUs and the AVX-512
    /// flags the kernel reports, or "no AVX-512".
    public static var cpuDescription: String {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        var fields: [String: String] = [:]
        for line in info.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            if fields[key] == nil { fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces) }
        }
        let flags = (fields["flags"] ?? "").split(separator: " ").filter { $0.hasPrefix("avx512") }.sorted()
        let model = fields["model name"] ?? "unknown CPU"
        return "\(model) (family \(fields["cpu family"] ?? "?"), model \(fields["model"] ?? "?")), "
            + "\(ProcessInfo.processInfo.activeProcessorCount) logical CPUs, "
            + (flags.isEmpty ? "no AVX-512" : "AVX-512: " + flags.joined(separator: " "))
    }
}
