// The root command of the `anomaly-clustering` executable.
import ArgumentParser

struct AnomalyClustering: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anomaly-clustering",
        abstract: "Group anomalous images into coherent defect types (Anomaly Clustering, Sohn et al. 2023).",
        subcommands: [ClusterCommand.self, EvaluateCommand.self, ServeCommand.self])
}
