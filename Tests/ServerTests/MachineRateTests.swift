import Engine
@testable import Server
import XCTest

final class MachineRateTests: XCTestCase {
    func testEachLongEnoughStageMovesTheRateHalfwayWithinTheClamp() {
        let rate = MachineRate(measured: 100e9, minimumSeconds: 5)
        XCTAssertEqual(rate.current, 100e9)
        rate.observe(work: 2e12, seconds: 10)  // ran at 200 GFLOP/s
        XCTAssertEqual(rate.current, 150e9, accuracy: 1)
        rate.observe(work: 2e12, seconds: 4.9)  // too short to say anything
        XCTAssertEqual(rate.current, 150e9, accuracy: 1)
        rate.observe(work: 0, seconds: 10)  // average mode: no search
        XCTAssertEqual(rate.current, 150e9, accuracy: 1)
        rate.observe(work: 1e15, seconds: 10)  // 100 TFLOP/s: clamped to 4 × the start-up reading
        XCTAssertEqual(rate.current, 0.5 * 150e9 + 0.5 * 400e9, accuracy: 1)
        rate.observe(work: 1e9, seconds: 100)  // a stalled job: clamped to a quarter
        XCTAssertEqual(rate.current, 0.5 * 275e9 + 0.5 * 25e9, accuracy: 1)
    }

    func testRepeatedObservationsConvergeToTheObservedRate() {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let start = Double.random(in: 50e9...200e9, using: &random)
            let observed = start * Double.random(in: 0.3...3.5, using: &random)
            let rate = MachineRate(measured: start)
            var gap = abs(rate.current - observed)
            for _ in 0..<30 {
                rate.observe(work: observed * 20, seconds: 20)
                let next = abs(rate.current - observed)
                XCTAssertLessThanOrEqual(next, gap / 2 + 1)  // halves each time
                gap = next
            }
            XCTAssertEqual(rate.current, observed, accuracy: observed * 1e-6)
        }
    }

    func testTheJobEstimateIsItsWorkOverTheRate() throws {
        // What a runner observes (work / seconds) is the rate at which the upload's estimate would have been exact.
        let registry = try BackboneRegistry.load(from: repositoryRoot.appendingPathComponent("config/backbones.json"))
        for json in [#"{"mode": "unsupervised"}"#, #"{"mode": "unsupervised", "search": "scalable", "references": 12, "projection": 64}"#,
                     #"{"mode": "semi-supervised"}"#, #"{"mode": "average"}"#] {
            let options = try JobOptions.parse(json: Array(json.utf8), registry: registry).resolving(hasNormals: json.contains("semi"), registry: registry)
            let spec = try registry.spec(named: options.backbone)
            let (_, estimate) = CostEstimate.make(options, images: 40, normals: 9, spec: spec, rate: 1.5e11, budgetSeconds: 120)
            let (flops, work) = CostEstimate.work(mode: options.mode!, search: options.neighbourSearch, images: 40, normals: 9,
                                                  patches: spec.estimatedPatches, dimensions: spec.targetDimension)
            XCTAssertEqual(estimate.flops, flops, json)
            XCTAssertEqual(estimate.seconds, work / 1.5e11, accuracy: 1e-12 * work, json)
            XCTAssertEqual(work == 0, options.mode == .average, json)
            XCTAssertGreaterThanOrEqual(work, flops, json)  // GEMM efficiency ≤ 1, overheads ≥ 0
        }
    }
}
