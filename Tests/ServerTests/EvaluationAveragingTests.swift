// The group averages of ALGORITHM.md §7 against numbers worked out by hand: each category weighted by its
// clustered images; a group average only where every category of the group completed the setting.
import Engine
import Foundation
import XCTest

@testable import Server

final class EvaluationAveragingTests: XCTestCase {
    let unsupervised = RunSetting(backbone: "dinov2-vits14", mode: .unsupervised, tau: 2)
    let semiSupervised = RunSetting(backbone: "dinov2-vits14", mode: .semiSupervised, tau: 2)
    let average = RunSetting(backbone: "dinov2-vits14", mode: .average, tau: nil)

    func testObjectAverageWeightsEachCategoryByItsImages() throws {
        let object = GroupAverage(group: "object", categories: ["bottle", "screw"], records: SyntheticEvaluation.records)
        XCTAssertEqual(object.images, [83, 50])
        // bottle (83 images) .6 / .5 / .7, screw (50) .1 / −.02 / .32:
        // NMI (83·0.6 + 50·0.1) / 133 = 54.8 / 133; ARI (41.5 − 1) / 133 = 40.5 / 133; F1 (58.1 + 16) / 133 = 74.1 / 133.
        let m = try XCTUnwrap(object.metrics[unsupervised])
        XCTAssertEqual(m.nmi, 0.412_030_075_188, accuracy: 1e-12)
        XCTAssertEqual(m.ari, 0.304_511_278_195, accuracy: 1e-12)
        XCTAssertEqual(m.f1, 0.557_142_857_143, accuracy: 1e-12)
        // Semi-supervised: NMI (83·0.7 + 50·0.3) / 133 = 73.1 / 133.
        XCTAssertEqual(try XCTUnwrap(object.metrics[semiSupervised]).nmi, 0.549_624_060_150, accuracy: 1e-12)
        // Average mode: (83·0.45 + 50·0.05) / 133 = 39.85 / 133.
        XCTAssertEqual(try XCTUnwrap(object.metrics[average]).nmi, 0.299_624_060_150, accuracy: 1e-12)
        // Not the plain mean of the two categories, (0.6 + 0.1) / 2 = 0.35.
        XCTAssertNotEqual(m.nmi, 0.35, accuracy: 1e-3)
    }

    func testAllCategoriesImageWeightedAndEquallyWeighted() throws {
        let standard = GroupAverage.standard(categories: SyntheticEvaluation.summaries(), records: SyntheticEvaluation.records)
        // texture and neu_det have one category each: their tables would repeat the category's own.
        XCTAssertEqual(standard.map(\.group), ["object", "all", "all"])
        XCTAssertEqual(GroupAverage(group: "texture", categories: ["carpet"], records: SyntheticEvaluation.records).metrics[unsupervised]?.nmi, 0.66)
        // All, image-weighted: (49.8 + 5 + 66 + 270) / 533 = 390.8 / 533.
        XCTAssertEqual(standard[1].weighting, .images)
        XCTAssertEqual(try XCTUnwrap(standard[1].metrics[unsupervised]).nmi, 0.733_208_255_159, accuracy: 1e-12)
        // All, each category once: (0.6 + 0.1 + 0.66 + 0.9) / 4 = 0.565; ARI (0.5 − 0.02 + 0.53 + 0.8) / 4 = 0.4525.
        XCTAssertEqual(standard[2].weighting, .categories)
        XCTAssertEqual(try XCTUnwrap(standard[2].metrics[unsupervised]).nmi, 0.565, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(standard[2].metrics[unsupervised]).ari, 0.4525, accuracy: 1e-12)
    }

    func testSkippedRunLeavesTheGroupWithoutAnAverage() {
        let standard = GroupAverage.standard(categories: SyntheticEvaluation.summaries(), records: SyntheticEvaluation.records)
        // neu_det has no semi-supervised run: neither its group nor "all" averages semi-supervised over fewer categories.
        XCTAssertNil(GroupAverage(group: "neu_det", categories: ["neu_det"], records: SyntheticEvaluation.records).metrics[semiSupervised])
        XCTAssertNil(standard[1].metrics[semiSupervised])
        XCTAssertNil(standard[2].metrics[semiSupervised])
        XCTAssertNotNil(standard[0].metrics[semiSupervised])
    }

    func testOneGroupHasNoAllRows() {
        let summaries = SyntheticEvaluation.summaries().filter { $0.group == "object" }
        XCTAssertEqual(GroupAverage.standard(categories: summaries, records: SyntheticEvaluation.records).map(\.group), ["object"])
    }

    func testMVTecGroupsFollowAlgorithmSection7() {
        XCTAssertEqual(DatasetLayout.objects.count, 10)
        XCTAssertEqual(DatasetLayout.textures.count, 5)
        XCTAssertEqual(DatasetLayout.group(ofMVTecCategory: "bottle"), "object")
        XCTAssertEqual(DatasetLayout.group(ofMVTecCategory: "screw"), "object")
        XCTAssertEqual(DatasetLayout.group(ofMVTecCategory: "wood"), "texture")
        XCTAssertEqual(DatasetLayout.group(ofMVTecCategory: "widget"), "other")
    }
}
