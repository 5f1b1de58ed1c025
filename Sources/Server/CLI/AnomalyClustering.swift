// The root command of the `anomaly-clustering` executable.
import ArgumentParser
import Engine

struct AnomalyClustering: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anomaly-clustering",
        abstract: "Group anomalous images into coherent defect types (Anomaly Clustering, Sohn et al. 2023).",
        subcommands: [ClusterCommand.self, EvaluateCommand.self, ServeCommand.self])

    // Not ArgumentParser's `version:`, a constant string: this runs the BLAS check and measures sgemm.
    @Flag(help: "Print the version, the BLAS library, its kernel set, the start-up check's result and the sgemm rate, then exit.")
    var version = false

    static let versionText = "anomaly-clustering (HTTP API version 1, openapi.yaml)"

    func run() throws {
        guard version else { throw CleanExit.helpRequest(self) }
        let blas = BLASStatus.current
        print(Self.versionText)
        print("CPU: \(VectorKernels.cpuDescription)")
        print("engine vector kernels: \(VectorKernels.name)")
        print("BLAS: \(blas.summary)")
        try requireCorrectBLAS()
    }
}
