// Request body storage without a server: the memory limit and the spill to disk, `.disk` storage, the
// temporary file's name and mode, and a full disk (ENOSPC from /dev/full, which every Linux machine has)
// turning into a 507 with the partial file removed.
import Foundation
import Glibc
import XCTest

@testable import Server

final class RequestBodyWriterTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("bodies-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private var files: [String] { (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] }

    func testBodyWithinTheLimitStaysInMemory() throws {
        let writer = RequestBodyWriter(directory: directory.path, memoryLimit: 10, storage: .automatic,
                                       contentLength: nil)
        try writer.append(Array("hello".utf8)[...])
        try writer.append(Array("world".utf8)[...])
        XCTAssertEqual(try writer.finish(), .memory(Array("helloworld".utf8)))
        XCTAssertTrue(files.isEmpty)
    }

    func testChunkedBodyPassingTheLimitMovesToAFileWithEveryByte() throws {
        let writer = RequestBodyWriter(directory: directory.path, memoryLimit: 10, storage: .automatic,
                                       contentLength: nil)
        try writer.append(Array("hello".utf8)[...])
        XCTAssertTrue(files.isEmpty, "still in memory")
        try writer.append(Array("world!".utf8)[...])
        guard case .file(let url, let count) = try writer.finish() else { return XCTFail("not spilled to disk") }
        XCTAssertEqual(count, 11)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "helloworld!")
    }

    func testContentLengthOverTheLimitGoesStraightToDisk() throws {
        let writer = RequestBodyWriter(directory: directory.path, memoryLimit: 10, storage: .automatic,
                                       contentLength: 11)
        try writer.append(Array("h".utf8)[...])
        XCTAssertEqual(files.count, 1, "the first byte already went to the file")
        writer.discard()
        XCTAssertTrue(files.isEmpty, "discard removes the file")
    }

    func testDiskStorageUsesAFileEvenForAnEmptyBody() throws {
        let writer = RequestBodyWriter(directory: directory.path, memoryLimit: 10, storage: .disk, contentLength: nil)
        guard case .file(let url, 0) = try writer.finish() else { return XCTFail("not a file") }
        XCTAssertEqual(try Data(contentsOf: url).count, 0)
    }

    func testTemporaryFilesHaveRandomNamesAndMode0600() throws {
        let first = try TemporaryFile(in: directory.path)
        let second = try TemporaryFile(in: directory.path)
        defer {
            first.remove()
            second.remove()
        }
        XCTAssertNotEqual(first.path, second.path)
        XCTAssertTrue(URL(fileURLWithPath: first.path).lastPathComponent.hasPrefix("request-body-"))
        let mode = try FileManager.default.attributesOfItem(atPath: first.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)
    }

    func testMissingDirectoryIsA500() {
        let writer = RequestBodyWriter(directory: directory.appendingPathComponent("missing").path, memoryLimit: 0,
                                       storage: .automatic, contentLength: nil)
        XCTAssertThrowsError(try writer.append(Array("x".utf8)[...])) { error in
            XCTAssertEqual((error as? RequestBodyStorageError)?.response.status, 500)
        }
    }

    func testDiskFullIs507AndRemovesThePartialFile() throws {
        let partial = directory.appendingPathComponent("partial").path
        _ = FileManager.default.createFile(atPath: partial, contents: Data("already written".utf8))
        let writer = RequestBodyWriter(
            directory: directory.path, memoryLimit: 4, storage: .automatic, contentLength: nil,
            makeFile: { (_) throws(SystemError) in
                // Writes go to /dev/full (always ENOSPC); `partial` stands for the file they would have grown.
                TemporaryFile(path: partial, adopting: try System.open("/dev/full", flags: O_WRONLY))
            })
        try writer.append(Array("abc".utf8)[...])
        XCTAssertThrowsError(try writer.append(Array("defgh".utf8)[...])) { error in
            let storageError = error as? RequestBodyStorageError
            XCTAssertEqual(storageError?.underlying.errno, ENOSPC)
            XCTAssertEqual(storageError?.response.status, 507)
            XCTAssertTrue(storageError?.response.body.count ?? 0 > 0)
            XCTAssertTrue(String(decoding: storageError?.response.body ?? [], as: UTF8.self)
                .contains("\"insufficient_storage\""))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial), "the partial file was removed")
    }
}
