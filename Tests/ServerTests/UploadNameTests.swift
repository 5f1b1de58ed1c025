// Client-supplied file names to (label, name): a table of accepted paths with what they give, and a table of
// rejected ones with their exact error.
import XCTest

@testable import Server

final class UploadNameTests: XCTestCase {
    func testAcceptedPaths() throws {
        let cases: [(String, String?, String)] = [
            ("crack/007.png", "crack", "007.png"),
            ("007.png", nil, "007.png"),
            ("bottle/test/crack/007.png", "crack", "007.png"),
            ("./crack//007.png", "crack", "007.png"),
            ("crack/./007.png", "crack", "007.png"),
            ("défaut/coupure 1.png", "défaut", "coupure 1.png"),
            ("a:b/c;d=e.png", "a:b", "c;d=e.png"),
            ("..png/...png", "..png", "...png"),
            (".hidden/.DS_Store", ".hidden", ".DS_Store"),
            ("%2e%2e/x.png", "%2e%2e", "x.png"),  // no percent-decoding: these are literal characters
            (String(repeating: "l", count: 255) + "/" + String(repeating: "n", count: 255), String(repeating: "l", count: 255),
             String(repeating: "n", count: 255)),
        ]
        for (path, label, name) in cases {
            let parsed = try UploadName(clientPath: path)
            XCTAssertEqual(parsed.label, label, path)
            XCTAssertEqual(parsed.name, name, path)
        }
    }

    func testRejectedPaths() {
        let cases: [(String, UploadNameError)] = [
            ("", .empty),
            ("/etc/passwd", .absolutePath),
            ("//server/share/x.png", .absolutePath),
            ("../evil.png", .parentReference),
            ("crack/../../evil.png", .parentReference),
            ("crack/..", .parentReference),
            ("crack/", .missingFileName),
            (".", .missingFileName),
            ("./", .missingFileName),
            ("a\u{0}b.png", .controlCharacter),
            ("a\nb.png", .controlCharacter),
            ("a\rb.png", .controlCharacter),
            ("a\tb.png", .controlCharacter),
            ("a\u{7F}.png", .controlCharacter),
            ("a\u{85}.png", .controlCharacter),
            ("C:\\Users\\me\\x.png", .backslash),
            ("crack\\007.png", .backslash),
            (String(repeating: "n", count: 256) + ".png", .componentTooLong(limit: 255)),
            (String(repeating: "d/", count: 512) + "x.png", .tooLong(limit: 1024)),
        ]
        for (path, expected) in cases {
            XCTAssertThrowsError(try UploadName(clientPath: path), path.debugDescription) {
                XCTAssertEqual($0 as? UploadNameError, expected, path.debugDescription)
            }
        }
    }

    func testTarPathsAndUploadNamesAgree() throws {
        // A path the tar reader accepts gives the same (label, name) before and after its normalisation.
        for raw in ["./bottle/crack//007.png", "crack/007.png", "x.png"] {
            let normalised = try TarPath.normalize(Array(raw.utf8), allowEmpty: false, maxBytes: 1024)
            XCTAssertEqual(try UploadName(clientPath: normalised), try UploadName(clientPath: raw))
        }
    }

    func testEveryErrorHasACodeAndMessage() {
        let errors: [UploadNameError] = [.empty, .tooLong(limit: 1), .componentTooLong(limit: 1), .controlCharacter,
                                         .backslash, .absolutePath, .parentReference, .missingFileName]
        XCTAssertEqual(Set(errors.map(\.code)).count, errors.count)
        XCTAssertTrue(errors.allSatisfy { $0.status == 400 && !$0.message.isEmpty })
    }
}
