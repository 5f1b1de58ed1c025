// The backbone registry: the shipped config/backbones.json loads, and each kind of bad entry is an error that
// names the backbone and the field, never a trap later in a model's initialiser.
import Engine
import Foundation
import XCTest

final class BackboneRegistryTests: XCTestCase {
    let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/backbones.json")

    func testShippedRegistryLoadsWithItsDefaultAndTaus() throws {
        let registry = try BackboneRegistry.load(from: shipped)
        XCTAssertEqual(Set(registry.backbones.map(\.name)), ["dinov2-vits14", "efficientnet-lite0", "wide-resnet50-2", "dino-vitb8"])
        XCTAssertNoThrow(try registry.spec(named: registry.defaultBackbone))
        XCTAssertEqual(try registry.spec(named: "efficientnet-lite0").tau, .init(unsupervised: 8, semiSupervised: 1))
        XCTAssertEqual(try registry.spec(named: "efficientnet-lite0").tau.value(for: .semiSupervised), 1)
        XCTAssertEqual(try registry.spec(named: "dinov2-vits14").tau.value(for: .unsupervised), 2)
        XCTAssertEqual(try registry.spec(named: "dinov2-vits14").estimatedPatches, 784)
    }

    /// The shipped registry with `edit` applied to its first entry (or to the whole document).
    func load(editingFirst edit: (inout [String: Any]) -> Void = { _ in }, document: (inout [String: Any]) -> Void = { _ in }) throws -> BackboneRegistry {
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: shipped)) as! [String: Any]
        var entries = object["backbones"] as! [[String: Any]]
        edit(&entries[0])
        object["backbones"] = entries
        document(&object)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: object).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try BackboneRegistry.load(from: url)
    }

    func testEachBadEntryIsAnErrorNamingIt() throws {
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("name", { $0["name"] = "dino v2" }, "name must be letters, digits"),
            ("weights path", { $0["weights"] = "../etc/passwd" }, "weights must be a file name"),
            ("layers order", { $0["layers"] = [8, 7] }, "layers must be strictly increasing"),
            ("layer range", { $0["layers"] = [7, 99] }, "layers [7, 99] outside 0...63"),
            ("batch", { $0["batch"] = 0 }, "batch must be in 1…256"),
            ("stride", { $0["stride"] = 500 }, "stride must be in 1…64"),
            ("negative tau", { $0["tau"] = ["unsupervised": 2, "semi-supervised": -1] }, "tau values must be numbers from 0"),
            ("scalar tau", { $0["tau"] = 2 }, "tau"),
            ("missing tau", { $0.removeValue(forKey: "tau") }, "tau"),
            ("normalization", { $0["normalization"] = "none" }, "normalization 'none'"),
            ("crop", { $0["crop"] = 0 }, "dinov2-vits14"),
        ]
        for (what, edit, expected) in cases {
            XCTAssertThrowsError(try load(editingFirst: edit), what) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(what): \(error)")
            }
        }
        XCTAssertThrowsError(try load(document: { $0["default"] = "resnet18" })) {
            XCTAssertTrue("\($0)".contains("default backbone 'resnet18' is not listed"), "\($0)")
        }
        XCTAssertThrowsError(try load(editingFirst: { $0["name"] = "efficientnet-lite0" })) {
            XCTAssertTrue("\($0)".contains("duplicate backbone names"), "\($0)")
        }
        XCTAssertThrowsError(try BackboneRegistry.load(from: shipped).spec(named: "resnet18")) {
            XCTAssertTrue("\($0)".contains("unknown backbone 'resnet18'; known: dinov2-vits14"), "\($0)")
        }
    }
}
