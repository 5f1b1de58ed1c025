// Listing a folder of images: labels from sub-folders, deterministic order, hidden and non-image files
// skipped, and clear errors for a missing or empty folder.
import Foundation
import XCTest
@testable import Engine

final class ImageFolderTests: XCTestCase {
    func testLabelsComeFromSubfoldersInSortedOrder() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("folder-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for path in ["crack/b.png", "crack/a.JPG", "good/000.jpeg", "good/.hidden.png", "good/notes.txt", "loose.png", ".git/x.png"] {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data([0]).write(to: url)
        }
        let files = try ImageFolder.list(root)
        XCTAssertEqual(files.map(\.name), ["loose.png", "crack/a.JPG", "crack/b.png", "good/000.jpeg"])
        XCTAssertEqual(files.map(\.label), [nil, "crack", "crack", "good"])
        XCTAssertEqual(files[1].url.lastPathComponent, "a.JPG")

        let empty = root.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolder.list(empty)) { XCTAssert("\($0)".contains("holds no .png or .jpg images")) }
        XCTAssertThrowsError(try ImageFolder.list(root.appendingPathComponent("loose.png"))) { XCTAssert("\($0)".contains("is not a folder")) }
    }
}
