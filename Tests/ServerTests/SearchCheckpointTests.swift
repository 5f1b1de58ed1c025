// A job's saved search progress (SearchCheckpoint): the file round-trips, anything that is not exactly a state
// of this job's search is ignored (other embeddings, truncated, torn, bad magic, a state that does not fit), and
// a job started with a saved state — planted, or left by a worker stopped mid-search — continues from it to the
// same clusters and α, bit for bit, as a job run from the start; the file goes once the job is finished.
import Engine
import Foundation
import XCTest

@testable import Server

final class SearchCheckpointTests: XCTestCase {
    private func batch(images n: Int, patches p: Int, seed: UInt64) throws -> PatchEmbeddings {
        var random = SeededRandom(seed: seed)
        return try PatchEmbeddings(images: n, patches: p, dimensions: 4, values: random.normals(n * p * 4))
    }

    /// Every state the search hands out for `z`.
    private func states(_ z: PatchEmbeddings) -> [ExactSearchState] {
        var states: [ExactSearchState] = []
        _ = NearestPatchDistances.meanOverOtherImages(z, checkpoint: { states.append($0) })
        return states
    }

    func testAStateRoundTripsAndAnythingElseIsIgnored() throws {
        try withStorageTemporaryDirectory { directory in
            let z = try batch(images: 9, patches: 512, seed: 1)  // blocks of 4 images: states at 4 and 8 (image 8 has no later pair)
            let saved = states(z)
            XCTAssertEqual(saved.map(\.nextImage), [4, 8])
            let checkpoint = SearchCheckpoint(directory: directory.path, jobID: "job1")
            let key = SearchCheckpoint.Key(z, search: .exact)
            XCTAssertNil(checkpoint.load(key), "no file")
            try checkpoint.save(saved[0], key: key)
            XCTAssertEqual(checkpoint.load(key), saved[0])
            try checkpoint.save(saved[1], key: key)  // replaced whole, no temporary file left beside it
            XCTAssertEqual(checkpoint.load(key), saved[1])
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["job1.state"])

            // Other embeddings: one value changed, or projected (the search runs on the projection).
            var values = z.values
            values[0] += 1
            let other = try PatchEmbeddings(images: 9, patches: 512, dimensions: 4, values: values)
            XCTAssertNil(checkpoint.load(SearchCheckpoint.Key(other, search: .exact)))
            XCTAssertNil(checkpoint.load(SearchCheckpoint.Key(z, search: NeighbourSearch(projection: 2, seed: 1))))

            // Damaged files.
            let good = try Data(contentsOf: checkpoint.url)
            func loads(_ bytes: Data) throws -> Bool {
                try bytes.write(to: checkpoint.url)
                return checkpoint.load(key) != nil
            }
            XCTAssertTrue(try loads(good))
            XCTAssertFalse(try loads(good.dropLast(8)), "truncated")
            XCTAssertFalse(try loads(good + Data([0])), "one byte more")
            var torn = good
            torn[SearchCheckpoint.headerBytes + 100] ^= 0x40
            XCTAssertFalse(try loads(torn), "a flipped bit in the sums")
            var magic = good
            magic[0] = UInt8(ascii: "X")
            XCTAssertFalse(try loads(magic), "bad magic")
            XCTAssertFalse(try loads(Data()), "empty")

            // Well-formed files (checksum right) holding states that do not fit: a row the blocks never end
            // at, a NaN sum, a negative one.
            for (name, state) in [("next image 3", ExactSearchState(nextImage: 3, sums: saved[0].sums)),
                                  ("NaN", ExactSearchState(nextImage: 4, sums: [.nan] + saved[0].sums.dropFirst())),
                                  ("negative", ExactSearchState(nextImage: 4, sums: [-1] + saved[0].sums.dropFirst()))] {
                try checkpoint.save(state, key: key)
                XCTAssertNil(checkpoint.load(key), name)
            }
            checkpoint.remove()
            XCTAssertFalse(FileManager.default.fileExists(atPath: checkpoint.url.path))
            XCTAssertEqual(SearchCheckpoint.jobID(fileName: "abc.state"), "abc")
            XCTAssertNil(SearchCheckpoint.jobID(fileName: "abc.state.tmp"))
        }
    }

    func testTheServiceRemovesSavedProgressOfJobsThatWillNotRunAtStart() throws {
        let service = try TestService { config in
            try? FileManager.default.createDirectory(atPath: config.checkpointsDirectory, withIntermediateDirectories: true)
            for name in ["0123456789abcdef0123456789abcdef.state", "stray.tmp"] {
                XCTAssertTrue(FileManager.default.createFile(atPath: config.checkpointsDirectory + "/" + name, contents: Data([1, 2, 3])))
            }
        }
        let directory = service.dataDirectory.appendingPathComponent("checkpoints").path
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory), [])
    }

    /// The runner as the service builds it, on a store in `directory` with the fixture images of two groups.
    private struct Setup {
        let store: JobStore
        let runner: JobRunner
        let registry: BackboneRegistry
        let imagesDirectory: String
        let checkpoints: String
        let images: [NewImage]
        let lines: LogLines
        /// The runner's rate, observing every weights stage (no minimum length).
        let rate: MachineRate
    }

    final class LogLines: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
    }

    private func setUp(_ directory: URL) throws -> Setup {
        let weights = try weightsDirectoryOrSkip()
        let registry = try BackboneRegistry.load(from: repositoryRoot.appendingPathComponent("config/backbones.json"))
        let imagesDirectory = directory.appendingPathComponent("images").path
        let checkpoints = directory.appendingPathComponent("checkpoints").path
        for path in [imagesDirectory, checkpoints] { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        var images: [NewImage] = []
        for (index, (label, file)) in twoGroupImages.enumerated() {
            let bytes = try fixtureImage(file)
            let stored = "image-\(index).img"
            try Data(bytes).write(to: URL(fileURLWithPath: imagesDirectory + "/" + stored))
            let info = try ImageProbe.probe(Data(bytes))
            images.append(NewImage(name: file, label: label, storedPath: stored, width: info.width, height: info.height,
                                   format: info.format.rawValue))
        }
        let store = try JobStore(path: directory.appendingPathComponent("jobs.sqlite").path)
        let lines = LogLines()
        var runner = JobRunner(
            store: store, registry: registry, weightsDirectory: URL(fileURLWithPath: weights),
            imagesDirectory: imagesDirectory, maxImagePixels: 40_000_000, metrics: JobMetrics(), log: { lines.append($0) })
        runner.checkpointsDirectory = checkpoints
        runner.searchCheckpointSeconds = 0
        let rate = MachineRate(measured: 1e15, minimumSeconds: 0)  // far above this machine: any real stage pulls it down
        runner.machineRate = rate
        return Setup(store: store, runner: runner, registry: registry, imagesDirectory: imagesDirectory,
                     checkpoints: checkpoints, images: images, lines: lines, rate: rate)
    }

    /// A finished job's clusters and α, as stored.
    private func results(_ setup: Setup, _ id: String) throws -> ([Int?], [[Float]]) {
        XCTAssertEqual(try setup.store.job(id: id)?.status, .succeeded)
        let alphas = try (0..<setup.images.count).map { try XCTUnwrap(try setup.store.alpha(jobID: id, position: $0)).weights }
        return (try setup.store.assignments(jobID: id), alphas)
    }

    func testAJobContinuesFromItsSavedSearchToTheSameResults() throws {
        try withStorageTemporaryDirectory { directory in
            let setup = try setUp(directory)
            defer { setup.store.close() }
            let options = try JobOptions.parse(json: Array(#"{"mode": "unsupervised", "tau": 1}"#.utf8), registry: setup.registry)
                .resolving(hasNormals: false, registry: setup.registry)
            func newJob() throws -> String { try setup.store.createJob(options: options.json, images: setup.images, normals: []).id }

            // From the start; with the interval 0 it saves after every block, and removes the file at the end.
            let plain = try newJob()
            setup.runner.run(id: plain, cancellation: CancellationFlag())
            let expected = try results(setup, plain)
            // The whole search ran: its stage moved the estimate rate halfway to the observed one (which is
            // below the 1e15 start, so to the clamp at a quarter of it or lower).
            let afterPlain = setup.rate.current
            XCTAssertLessThanOrEqual(afterPlain, 0.5 * 1e15 + 0.5 * 1e15 / 4)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: setup.checkpoints), [], "the finished job's file stayed")

            // The same images' Z, as the runner computes it, searched up to the first block (images 0–1 of 6).
            let spec = try setup.registry.spec(named: options.backbone).overriding(resize: options.resize, crop: options.crop)
            let z = try FeatureExtractor(spec: spec, weightsDirectory: setup.runner.weightsDirectory).patchEmbeddings(
                of: setup.images.map { URL(fileURLWithPath: setup.imagesDirectory + "/" + $0.storedPath) }, maxPixels: 40_000_000)
            let first = try XCTUnwrap(states(z).first)
            XCTAssertEqual(first.nextImage, 2)

            let resumed = try newJob()
            try SearchCheckpoint(directory: setup.checkpoints, jobID: resumed).save(first, key: SearchCheckpoint.Key(z, search: .exact))
            setup.runner.run(id: resumed, cancellation: CancellationFlag())
            XCTAssert(setup.lines.all.contains("job \(resumed): resuming its nearest-patch search at image 2 of 6 (saved progress)"),
                      "\(setup.lines.all)")
            let got = try results(setup, resumed)
            XCTAssertEqual(got.0, expected.0)
            XCTAssertEqual(got.1, expected.1, "α differs from the uninterrupted job")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: setup.checkpoints), [])
            XCTAssertEqual(setup.rate.current, afterPlain, "a resumed search (part of the work) moved the estimate rate")

            // The service stopping mid-search (the worker's flag set, the job left running): the last finished
            // block stays saved, and the next run of the job continues from it.
            let stopped = try newJob()
            let flag = CancellationFlag()
            let file = SearchCheckpoint(directory: setup.checkpoints, jobID: stopped).url.path
            let watcher = Thread {
                while !FileManager.default.fileExists(atPath: file) { Thread.sleep(forTimeInterval: 0.002) }
                flag.cancel()
            }
            watcher.start()
            setup.runner.run(id: stopped, cancellation: flag)
            XCTAssertEqual(try setup.store.job(id: stopped)?.status, .running)
            XCTAssert(FileManager.default.fileExists(atPath: file), "the stopped job's progress was not kept")
            XCTAssertEqual(try setup.store.requeueInterrupted().requeued, [stopped])  // as the next start does
            setup.runner.run(id: stopped, cancellation: CancellationFlag())
            XCTAssert(setup.lines.all.contains { $0.hasPrefix("job \(stopped): resuming its nearest-patch search at image ") },
                      "\(setup.lines.all)")
            let again = try results(setup, stopped)
            XCTAssertEqual(again.0, expected.0)
            XCTAssertEqual(again.1, expected.1)
            XCTAssertFalse(FileManager.default.fileExists(atPath: file))
        }
    }
}
