// Dataset discovery (MVTec tree, one category folder, flat tree) and the seeded choices: a subset per class
// and the normal references are the same for the same seed, differ for another, and one class's choice does
// not depend on the others.
@testable import Engine
import Foundation
import XCTest

@testable import Server

final class EvaluationSelectionTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws { folder = try EvaluationFixtures.temporaryFolder("evaluation-selection") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testMVTecTreeSingleCategoryAndFlatTreeAreFound() throws {
        let mvtec = folder.appendingPathComponent("mvtec")
        try EvaluationFixtures.mvtecTree(at: mvtec, category: "bottle")
        try EvaluationFixtures.mvtecTree(at: mvtec, category: "wood")
        let flat = folder.appendingPathComponent("neu_det")
        try EvaluationFixtures.flatTree(at: flat)

        let all = try DatasetLayout.discover([mvtec, flat], only: nil)
        XCTAssertEqual(all.map(\.name), ["bottle", "wood", "neu_det"])
        XCTAssertEqual(all.map(\.group), ["object", "texture", "neu_det"])
        XCTAssertEqual(all.map(\.layout), ["mvtec", "mvtec", "flat"])
        XCTAssertEqual(all[0].images.map(\.name), [
            "combined/png_rgb8_37x23.png", "dent/jpeg_baseline420_64x48.jpg", "dent/png_palette8_37x23.png",
            "good/jpeg_optimized_300x200.jpg", "good/pillow_rgb_300x200.png",
            "scratch/jpeg_gray_37x23.jpg", "scratch/pillow_gray_64x48.png",
        ])
        XCTAssertEqual(all[0].normals?.map(\.name), ["jpeg_progressive_64x48.jpg", "pillow_rgba_64x48.png"])
        XCTAssertNil(all[2].normals)
        XCTAssertEqual(all[2].images.count, 6)

        // ROOT being one category folder; --categories keeps the order asked for.
        XCTAssertEqual(try DatasetLayout.discover([mvtec.appendingPathComponent("wood")], only: nil).map(\.name), ["wood"])
        XCTAssertEqual(try DatasetLayout.discover([mvtec, flat], only: ["neu_det", "bottle"]).map(\.name), ["neu_det", "bottle"])
        XCTAssertThrowsError(try DatasetLayout.discover([mvtec], only: ["screw"])) { error in
            XCTAssertEqual("\(error)", "--categories: no category screw; found bottle, wood")
        }
        XCTAssertThrowsError(try DatasetLayout.discover([mvtec.appendingPathComponent("bottle"), mvtec], only: nil)) { error in
            XCTAssert("\(error)".contains("two categories are called 'bottle'"))
        }
    }

    func testLooseImagesInAFlatTreeAreAnError() throws {
        try EvaluationFixtures.flatTree(at: folder)
        try FileManager.default.copyItem(
            at: repositoryRoot.appendingPathComponent("Tests/Fixtures/images/png_rgb8_16x16.png"),
            to: folder.appendingPathComponent("loose.png"))
        XCTAssertThrowsError(try DatasetLayout.discover([folder], only: nil)) { error in
            XCTAssert("\(error)".contains("loose.png has no label"), "\(error)")
        }
    }

    /// 3 classes of 10, 7 and 3 images (names only: the selection never opens the files).
    func images() -> [ImageFile] {
        let classes: [(label: String, count: Int)] = [("crazing", 10), ("inclusion", 7), ("patches", 3)]
        return classes.flatMap { label, count in
            (0..<count).map { i in
                ImageFile(name: "\(label)/\(label)_\(i).jpg", label: label, url: URL(fileURLWithPath: "/n/\(label)/\(label)_\(i).jpg"))
            }
        }
    }

    func testSubsetPerClassIsSeededAndReproducible() {
        let chosen = SeededSelection.subset(images(), perClass: 4, seed: 7, category: "neu_det")
        XCTAssertEqual(chosen.filter { $0.label == "crazing" }.count, 4)
        XCTAssertEqual(chosen.filter { $0.label == "inclusion" }.count, 4)
        XCTAssertEqual(chosen.filter { $0.label == "patches" }.count, 3)  // fewer than 4: all kept
        // Same seed, same subset; the result keeps the input order.
        XCTAssertEqual(chosen, SeededSelection.subset(images(), perClass: 4, seed: 7, category: "neu_det"))
        XCTAssertEqual(chosen.map(\.name), images().filter { chosen.contains($0) }.map(\.name))
        // Another seed, another subset (of C(10,4) · C(7,4) = 7350 possible ones).
        XCTAssertNotEqual(chosen, SeededSelection.subset(images(), perClass: 4, seed: 8, category: "neu_det"))
        // A class's choice does not depend on the other classes being present.
        let crazingOnly = SeededSelection.subset(images().filter { $0.label == "crazing" }, perClass: 4, seed: 7, category: "neu_det")
        XCTAssertEqual(crazingOnly, chosen.filter { $0.label == "crazing" })
        // Pinned: the draw must not change between versions, or recorded subsets would no longer reproduce.
        XCTAssertEqual(SeededSelection.choose(4, of: 10, seed: SeededSelection.derivedSeed("subset", 7, "neu_det", "crazing")),
                       chosen.filter { $0.label == "crazing" }.map { Int($0.name.split(separator: "_").last!.dropLast(4))! })
    }

    func testNormalsChoiceIsSeededAndAllByDefault() {
        let normals = (0..<20).map { ImageFile(name: String(format: "%03d.png", $0), label: nil, url: URL(fileURLWithPath: "/g/\($0).png")) }
        XCTAssertEqual(SeededSelection.normals(normals, count: nil, seed: 0, category: "bottle"), normals)
        XCTAssertEqual(SeededSelection.normals(normals, count: 30, seed: 0, category: "bottle"), normals)
        let five = SeededSelection.normals(normals, count: 5, seed: 0, category: "bottle")
        XCTAssertEqual(five.count, 5)
        XCTAssertEqual(five, SeededSelection.normals(normals, count: 5, seed: 0, category: "bottle"))
        XCTAssertNotEqual(five, SeededSelection.normals(normals, count: 5, seed: 1, category: "bottle"))
        XCTAssertEqual(five.map(\.name), five.map(\.name).sorted())
    }

    func testChooseIsAUniformDrawWithoutRepeats() {
        // Every index of 0..<10 turns up about equally often as a member of 3-element draws.
        var hits = [Int](repeating: 0, count: 10)
        for seed in 0..<3000 as Range<UInt64> {
            let draw = SeededSelection.choose(3, of: 10, seed: seed)
            XCTAssertEqual(Set(draw).count, 3)
            for i in draw { hits[i] += 1 }
        }
        // Expected 900 each; the binomial standard deviation is √(3000 · 0.3 · 0.7) ≈ 25.
        for count in hits { XCTAssertEqual(Double(count), 900, accuracy: 125) }
    }
}
