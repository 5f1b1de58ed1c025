// Job options from JSON and from query parameters: defaults, every option, and each bad name or value
// as the specific error that becomes a 400.
import Engine
import Foundation
import XCTest
@testable import Server

final class JobOptionsTests: XCTestCase {
    let registry = try! BackboneRegistry.load(from: URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("config/backbones.json"))

    func json(_ text: String) throws(JobOptionsError) -> JobOptions { try JobOptions.parse(json: Array(text.utf8), registry: registry) }

    func testDefaultsAndEveryOptionFromJSON() throws {
        XCTAssertEqual(try json("{}"), JobOptions(backbone: registry.defaultBackbone, mode: nil, tau: nil, clusters: nil, exclude: [], resize: nil, crop: nil))
        XCTAssertEqual(try json("{}").resolving(hasNormals: false, registry: registry).mode, .unsupervised)
        XCTAssertEqual(try json("{}").resolving(hasNormals: true, registry: registry).mode, .semiSupervised)
        XCTAssertEqual(try json(#"{"mode": "average"}"#).resolving(hasNormals: true, registry: registry).mode, .average)
        let all = try json(#"{"backbone": "efficientnet-lite0", "mode": "supervised", "tau": 0, "clusters": 4, "exclude": ["combined", "x"], "resize": 300, "crop": 256}"#)
        XCTAssertEqual(all, JobOptions(backbone: "efficientnet-lite0", mode: .semiSupervised, tau: 0, clusters: .fixed(4), exclude: ["combined", "x"], resize: 300, crop: 256))
        XCTAssertEqual(try json(#"{"clusters": "auto", "exclude": "combined", "mode": "average"}"#).clusters, .automatic(maxClusters: 20))
        XCTAssertEqual(try json(#"{"exclude": "combined"}"#).exclude, ["combined"])
    }

    /// τ is in distance units, whose scale depends on the backbone and on what the distances are to: without
    /// a τ the job takes its backbone's registry value for the resolved mode, whichever way the backbone was
    /// chosen; a given τ stays.
    func testTauDefaultsToTheChosenBackbonesRegistryValueForTheMode() throws {
        let text = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/backbones.json"), encoding: .utf8)
        var object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
        var entries = object["backbones"] as! [[String: Any]]
        // distinct per backbone and mode: unsupervised i + 0.25, semi-supervised i + 0.5
        for i in entries.indices { entries[i]["tau"] = ["unsupervised": Double(i) + 0.25, "semi-supervised": Double(i) + 0.5] }
        object["backbones"] = entries
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let custom = try BackboneRegistry.load(from: url)
        for (i, entry) in entries.enumerated() {
            let name = entry["name"] as! String
            let unsupervised = Double(i) + 0.25, semiSupervised = Double(i) + 0.5
            let named = try JobOptions.parse(json: Array(#"{"backbone": "\#(name)"}"#.utf8), registry: custom)
            XCTAssertNil(named.tau)
            XCTAssertEqual(named.resolving(hasNormals: false, registry: custom).tau, unsupervised)
            XCTAssertEqual(named.resolving(hasNormals: true, registry: custom).tau, semiSupervised)
            XCTAssertEqual(try JobOptions.parse(query: [("backbone", name)], registry: custom).resolving(hasNormals: true, registry: custom).tau, semiSupervised)
            XCTAssertEqual(try JobOptions.parse(json: Array("{}".utf8), registry: custom, defaultBackbone: name)
                .resolving(hasNormals: false, registry: custom).tau, unsupervised)
            let explicitMode = try JobOptions.parse(json: Array(#"{"backbone": "\#(name)", "mode": "unsupervised"}"#.utf8), registry: custom)
            XCTAssertEqual(explicitMode.resolving(hasNormals: true, registry: custom).tau, unsupervised)
            let given = try JobOptions.parse(json: Array(#"{"backbone": "\#(name)", "tau": 9}"#.utf8), registry: custom)
            XCTAssertEqual(given.resolving(hasNormals: true, registry: custom).tau, 9)
        }
        // The stored form carries the resolved τ and reads back equal.
        let resolved = JobOptions.defaults(custom).resolving(hasNormals: false, registry: custom)
        XCTAssertEqual(try JobOptions.parse(json: Array(resolved.json.utf8), registry: custom).resolving(hasNormals: false, registry: custom), resolved)
    }

    func testSearchOptions() throws {
        XCTAssertEqual(try json("{}").neighbourSearch, .exact)
        let sized = try json(#"{"references": 64, "projection": 256, "seed": 3}"#)
        XCTAssertEqual(sized.search, .scalable)
        XCTAssertEqual(sized.neighbourSearch, NeighbourSearch(references: 64, projection: 256, seed: 3))
        XCTAssertEqual(try json(#"{"search": "scalable", "projection": 128}"#).neighbourSearch, NeighbourSearch(references: nil, projection: 128, seed: 0))
        XCTAssertEqual(try json(#"{"search": "auto"}"#).search, .auto)
        let bad: [(String, JobOptionsError)] = [
            (#"{"search": "fast"}"#, .invalid("option 'search' must be exact, auto or scalable; got 'fast'")),
            (#"{"search": "scalable"}"#, .invalid("option 'search' scalable needs 'references' and/or 'projection'")),
            (#"{"search": "exact", "references": 8}"#, .invalid("options 'references' and 'projection' go with search scalable, not exact")),
            (#"{"search": "auto", "projection": 8}"#, .invalid("options 'references' and 'projection' go with search scalable, not auto")),
            (#"{"references": 0}"#, .invalid("option 'references' must be an integer from 1 to 100000; got 0.0")),
            (#"{"seed": -1}"#, .invalid("option 'seed' must be an integer from 0 to 2^53; got -1.0")),
        ]
        for (text, expected) in bad {
            XCTAssertThrowsError(try json(text), text) { XCTAssertEqual($0 as? JobOptionsError, expected, text) }
        }
    }

    func testTheStoredFormReadsBackAsTheSameOptions() throws {
        for text in ["{}", #"{"backbone": "efficientnet-lite0", "mode": "supervised", "tau": 0.25, "clusters": 4, "exclude": ["a \"b\"", "c"], "resize": 300, "crop": 256}"#,
                     #"{"clusters": "auto", "mode": "average"}"#, #"{"references": 10, "projection": 64, "seed": 5}"#] {
            let options = try json(text)
            XCTAssertEqual(try json(options.json), options, text)
        }
        XCTAssertEqual(try json(#"{"tau": 1, "clusters": "auto"}"#).json, #"{"backbone": "efficientnet-lite0", "tau": 1.0, "clusters": "auto"}"#)
    }

    func testQueryParameters() throws {
        let options = try JobOptions.parse(
            query: [("mode", "semi-supervised"), ("tau", "0.5"), ("exclude", "a"), ("exclude", "b"), ("clusters", "auto")],
            registry: registry)
        XCTAssertEqual(options, JobOptions(backbone: "efficientnet-lite0", mode: .semiSupervised, tau: 0.5, clusters: .automatic(maxClusters: 20), exclude: ["a", "b"], resize: nil, crop: nil))
        XCTAssertThrowsError(try JobOptions.parse(query: [("tau", "1e999")], registry: registry)) {
            XCTAssertEqual($0 as? JobOptionsError, .invalid("option 'tau' must be a finite number ≥ 0; got inf"))
        }
        XCTAssertThrowsError(try JobOptions.parse(query: [("tau", "1"), ("tau", "2")], registry: registry)) {
            XCTAssertEqual($0 as? JobOptionsError, .invalid("option 'tau' is given more than once"))
        }
    }

    func testBadOptionsAreNamedErrors() {
        let cases: [(String, JobOptionsError)] = [
            (#"{"mode": "average", "colour": 1, "aaa": 2}"#, .unknownOptions("unknown option(s): aaa, colour; known: backbone, clusters, crop, exclude, mode, projection, references, resize, search, seed, tau")),
            ("[1, 2]", .invalid("options must be a JSON object")),
            ("{nope", .invalid("options must be a JSON object")),
            (#"{"backbone": "resnet9000"}"#, .invalid("unknown backbone 'resnet9000'; known: dinov2-vits14, efficientnet-lite0, wide-resnet50-2, dino-vitb8")),
            (#"{"mode": "sideways"}"#, .invalid("option 'mode' must be unsupervised, semi-supervised (or supervised) or average; got 'sideways'")),
            (#"{"tau": -1}"#, .invalid("option 'tau' must be a finite number ≥ 0; got -1.0")),
            (#"{"tau": "2"}"#, .invalid("option 'tau' has a value of the wrong type (expected a number)")),
            (#"{"tau": true}"#, .invalid("option 'tau' has a value of the wrong type (expected a number)")),
            (#"{"clusters": 0}"#, .invalid("option 'clusters' must be 'auto' or an integer from 1 to 10000; got 0.0")),
            (#"{"clusters": 2.5}"#, .invalid("option 'clusters' must be 'auto' or an integer from 1 to 10000; got 2.5")),
            (#"{"clusters": "many"}"#, .invalid("option 'clusters' has a value of the wrong type (expected a number or \"auto\")")),
            (#"{"exclude": ["a", 1]}"#, .invalid("option 'exclude' has a value of the wrong type (expected a string or a list of strings)")),
            (#"{"crop": 5000}"#, .invalid("option 'crop' must be an integer from 1 to 4096; got 5000.0")),
            (#"{"mode": null}"#, .invalid("option 'mode' has a value of the wrong type (expected a string)")),
            (#"{"tau": 1e999}"#, .invalid("option 'tau' is a number beyond the range of a double")),
            (#"{"seed": -1e999}"#, .invalid("option 'seed' is a number beyond the range of a double")),
            (#"{"tau": {"value": 2}}"#, .invalid("option 'tau' has a value of the wrong type (expected a number)")),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try json(text), text) { XCTAssertEqual($0 as? JobOptionsError, expected, text) }
        }
        XCTAssertThrowsError(try json("{\"mode\": \"" + String(repeating: "x", count: 70_000) + "\"}")) {
            XCTAssertEqual($0 as? JobOptionsError, .invalid("options exceed 65536 bytes"))
        }
        XCTAssertEqual(JobOptionsError.unknownOptions("").code, "unknown_option")
    }
}
