// The two options every command that runs a backbone takes: where the registry and the converted weights
// are. `serve` has its own (they also come from its config file).
import ArgumentParser

struct ModelFiles: ParsableArguments {
    @Option(help: "Backbone registry.")
    var registry = "config/backbones.json"

    @Option(help: "Folder of converted weights (`make weights`).")
    var weightsDir = "weights"
}
