// Tests for NPYArray: reading NumPy-written goldens (Tests/Fixtures/npy, made by
// tools/make_npy_goldens.py), byte-exact headers against NumPy's, round trips, and one
// table-driven case per way a file can be malformed. No Python is needed to run them.

import Engine
import Foundation
import XCTest

/// Tests/Fixtures/npy, found from this file's path so it works in any package with this layout.
private let npyFixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // EngineTests
    .deletingLastPathComponent()  // Tests
    .appendingPathComponent("Fixtures/npy", isDirectory: true)

private func fixture(_ name: String) -> URL {
    npyFixtures.appendingPathComponent(name)
}

/// Builds an in-memory .npy file from a header text, exactly as given (no padding added).
private func npy(_ header: String, version: (UInt8, UInt8) = (1, 0), data: [UInt8] = []) -> Data {
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version.0, version.1]
    let headerBytes = Array(header.utf8)
    if version.0 == 1 {
        bytes += [UInt8(headerBytes.count & 0xFF), UInt8(headerBytes.count >> 8)]
    } else {
        bytes += (0..<4).map { UInt8((headerBytes.count >> (8 * $0)) & 0xFF) }
    }
    return Data(bytes + headerBytes + data)
}

private func floatBytes(_ values: [Float]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

private func doubleBytes(_ values: [Double]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
}

private func header(_ shape: String, descr: String = "'<f4'", fortran: String = "False") -> String {
    "{'descr': \(descr), 'fortran_order': \(fortran), 'shape': \(shape), }\n"
}

final class NPYTests: XCTestCase {
    // MARK: NumPy goldens

    func testReadsFloat32Matrix() throws {
        let array = try NPYArray.read(from: fixture("f32_2d.npy"))
        XCTAssertEqual(array.shape, [3, 4])
        XCTAssertEqual(array.values, (0..<12).map { Float($0 - 5) * 0.25 })
    }

    func testReadsFloat64ThreeDimensionalNarrowedToFloat() throws {
        let array = try NPYArray.read(from: fixture("f64_3d.npy"))
        XCTAssertEqual(array.shape, [2, 3, 4])
        // numpy computed i * 0.1 - 1.0 in float64; narrowing rounds to nearest like astype.
        XCTAssertEqual(array.values, (0..<24).map { Float(Double($0) * 0.1 - 1.0) })
    }

    func testReadsVersion2And3Headers() throws {
        for name in ["v2_header.npy", "v3_header.npy"] {
            let array = try NPYArray.read(from: fixture(name))
            XCTAssertEqual(array.shape, [5], name)
            XCTAssertEqual(array.values, [0, 0.5, 1, 1.5, 2], name)
        }
    }

    func testReadsScalarAndZeroSizeArrays() throws {
        let scalar = try NPYArray.read(from: fixture("scalar.npy"))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.values, [3.5])

        let empty = try NPYArray.read(from: fixture("zero_dim.npy"))
        XCTAssertEqual(empty.shape, [0, 3])
        XCTAssertEqual(empty.values, [])
    }

    func testFirstNonFinite() throws {
        let array = try NPYArray.read(from: fixture("with_nan.npy"))
        XCTAssertEqual(array.shape, [4])
        XCTAssertEqual(Array(array.values[0..<2]), [1, 2])
        XCTAssertTrue(array.values[2].isNaN)
        XCTAssertEqual(array.values[3], .infinity)
        XCTAssertEqual(array.firstNonFinite(), 2)
        XCTAssertNil(NPYArray(shape: [2], values: [1, -2]).firstNonFinite())
        XCTAssertEqual(NPYArray(shape: [2], values: [1, -.infinity]).firstNonFinite(), 1)
    }

    func testRejectsBadGoldens() {
        let cases: [(String, NPYError)] = [
            ("bad_big_endian.npy", .unsupportedDType(file: "bad_big_endian.npy", descr: ">f4")),
            ("bad_int64.npy", .unsupportedDType(file: "bad_int64.npy", descr: "<i8")),
            ("bad_float16.npy", .unsupportedDType(file: "bad_float16.npy", descr: "<f2")),
            ("bad_object.npy", .unsupportedDType(file: "bad_object.npy", descr: "|O")),
            ("bad_fortran.npy", .fortranOrder(file: "bad_fortran.npy")),
            ("bad_truncated.npy", .truncatedData(file: "bad_truncated.npy", expectedBytes: 24, actualBytes: 21)),
            ("f64_out_of_range.npy", .valueOutOfRange(file: "f64_out_of_range.npy", index: 1, value: 1e300)),
        ]
        for (name, expected) in cases {
            XCTAssertThrowsError(try NPYArray.read(from: fixture(name)), name) { error in
                XCTAssertEqual(error as? NPYError, expected, name)
            }
        }
    }

    func testErrorMessagesNameFileAndProblem() {
        XCTAssertEqual(
            NPYError.unsupportedDType(file: "embeddings.npy", descr: "<i8").description,
            "embeddings.npy: dtype '<i8' is not supported (expected '<f4' or '<f8')")
        XCTAssertEqual(
            NPYError.truncatedData(file: "x.npy", expectedBytes: 24, actualBytes: 21).description,
            "x.npy: data is truncated: expected 24 bytes, got 21")
        XCTAssertThrowsError(try NPYArray.read(from: fixture("bad_int64.npy"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("bad_int64.npy: dtype '<i8'"), "\(error)")
        }
    }

    // MARK: Writing

    struct HeaderGoldens: Decodable {
        struct Entry: Decodable {
            var shape: [Int]
            var header_hex: String
        }
        var numpy_version: String
        var headers: [Entry]
    }

    private func hex(_ data: Data) -> String {
        data.map { String(format: "%02x", $0) }.joined()
    }

    func testHeaderMatchesNumPyByteForByte() throws {
        let goldens = try JSONDecoder().decode(
            HeaderGoldens.self, from: Data(contentsOf: fixture("headers.json")))
        XCTAssertGreaterThanOrEqual(goldens.headers.count, 5)
        for entry in goldens.headers {
            let header = try NPYArray.encodeHeader(shape: entry.shape)
            XCTAssertEqual(hex(header), entry.header_hex, "shape \(entry.shape)")
            XCTAssertEqual(header.count % 64, 0, "data must start 64-byte aligned")
            XCTAssertEqual(header.last, 0x0A)
        }
    }

    /// Re-encoding what numpy wrote must give back numpy's file exactly.
    func testEncodeReproducesNumPyFiles() throws {
        for name in ["f32_2d.npy", "scalar.npy", "zero_dim.npy", "with_nan.npy"] {
            let original = try Data(contentsOf: fixture(name))
            let array = try NPYArray(parsing: original, source: name)
            XCTAssertEqual(try NPYArray.encode(shape: array.shape, values: array.values), original, name)
        }
    }

    func testWriteThenReadRoundTrips() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("NPYTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let cases: [NPYArray] = [
            NPYArray(shape: [2, 3], values: [1, -2.5, 0, -0.0, .greatestFiniteMagnitude, .leastNonzeroMagnitude]),
            NPYArray(shape: [], values: [42]),
            NPYArray(shape: [0], values: []),
            NPYArray(shape: [3, 0, 2], values: []),
            NPYArray(shape: [1, 1, 1, 7], values: (0..<7).map { Float($0) / 3 }),
            NPYArray(shape: [3], values: [.nan, .infinity, -.infinity]),
        ]
        for (index, array) in cases.enumerated() {
            let url = directory.appendingPathComponent("case\(index).npy")
            try array.write(to: url)
            let back = try NPYArray.read(from: url)
            XCTAssertEqual(back.shape, array.shape)
            // Compare bit patterns so -0.0 and NaN are checked exactly too.
            XCTAssertEqual(back.values.map(\.bitPattern), array.values.map(\.bitPattern))
        }
        // Overwriting replaces the file whole and leaves no temporary files behind.
        let url = directory.appendingPathComponent("case0.npy")
        try NPYArray(shape: [1], values: [7]).write(to: url)
        XCTAssertEqual(try NPYArray.read(from: url).values, [7])
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertEqual(names, cases.indices.map { "case\($0).npy" })
    }

    func testEncodeRejectsInconsistentArrays() {
        XCTAssertThrowsError(try NPYArray.encode(shape: [2, 3], values: [1, 2])) { error in
            XCTAssertEqual(error as? NPYError, .shapeMismatch(file: "<encode>", shape: [2, 3], valueCount: 2))
        }
        XCTAssertThrowsError(try NPYArray.encode(shape: [2, -1], values: [])) { error in
            XCTAssertEqual(error as? NPYError, .invalidDimension(file: "<encode>", axis: 1, value: "-1"))
        }
        XCTAssertThrowsError(try NPYArray.encode(shape: [1 << 40, 1 << 40], values: [])) { error in
            XCTAssertEqual(error as? NPYError, .shapeOverflow(file: "<encode>", shape: [1 << 40, 1 << 40]))
        }
        let missing = URL(fileURLWithPath: "/nonexistent-dir-\(UUID().uuidString)/out.npy")
        XCTAssertThrowsError(try NPYArray(shape: [1], values: [1]).write(to: missing)) { error in
            guard case .writeFailed(file: "out.npy", reason: _)? = error as? NPYError else {
                return XCTFail("\(error)")
            }
        }
    }

    // MARK: Accepted header variations

    func testAcceptsHeaderVariations() throws {
        let six = floatBytes([1, 2, 3, 4, 5, 6])
        let cases: [(String, Data, [Int])] = [
            ("keys in another order", npy("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}\n", data: six), [2, 3]),
            ("odd whitespace", npy("{ 'descr' :'<f4' ,\t'fortran_order':False,'shape':( 2 ,3 , ) }   \n", data: six), [2, 3]),
            ("double quotes", npy("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (6,)}", data: six), [6]),
            ("no padding, unaligned data", npy("{'descr':'<f4','fortran_order':False,'shape':(3,2)}", data: six), [3, 2]),
            ("python 2 long", npy(header("(2L, 3L)"), data: six), [2, 3]),
            ("version 2.0", npy(header("(6,)"), version: (2, 0), data: six), [6]),
            ("version 3.0", npy(header("(6,)"), version: (3, 0), data: six), [6]),
        ]
        for (name, data, shape) in cases {
            let array = try NPYArray(parsing: data, source: name)
            XCTAssertEqual(array.shape, shape, name)
            XCTAssertEqual(array.values, [1, 2, 3, 4, 5, 6], name)
        }
        let doubles = try NPYArray(parsing: npy(header("()", descr: "'<f8'"), data: doubleBytes([-0.1])))
        XCTAssertEqual(doubles.shape, [])
        XCTAssertEqual(doubles.values, [Float(-0.1)])
        // NaN and infinity are valid float64 data: kept, for firstNonFinite() to report.
        let nonFinite = try NPYArray(parsing: npy(header("(2,)", descr: "'<f8'"), data: doubleBytes([.nan, -.infinity])))
        XCTAssertEqual(nonFinite.firstNonFinite(), 0)
        XCTAssertEqual(nonFinite.values[1], -.infinity)
    }

    // MARK: Malformed input, one case per error

    enum Expected {
        case exactly(NPYError)
        case malformedHeader(containing: String)
    }

    func testRejectsMalformedInput() {
        let six = floatBytes([1, 2, 3, 4, 5, 6])
        let f = "<data>"
        var longLength = [UInt8](npy("", version: (2, 0)))
        longLength[8...11] = [0xFF, 0xFF, 0xFF, 0xFF]
        let deep = String(repeating: "(", count: 100_000) + String(repeating: ")", count: 100_000)

        let cases: [(String, Data, Expected)] = [
            ("empty file", Data(), .exactly(.badMagic(file: f))),
            ("bad magic", Data("PK\u{3}\u{4}not numpy at all".utf8), .exactly(.badMagic(file: f))),
            ("magic only", Data([0x93] + Array("NUMPY".utf8)), .exactly(.truncatedHeader(file: f, neededBytes: 8, availableBytes: 6))),
            ("version 4.0", npy(header("(6,)"), version: (4, 0), data: six), .exactly(.unsupportedVersion(file: f, major: 4, minor: 0))),
            ("version 1.1", npy(header("(6,)"), version: (1, 1), data: six), .exactly(.unsupportedVersion(file: f, major: 1, minor: 1))),
            ("no length field", Data([0x93] + Array("NUMPY".utf8) + [1, 0, 7]), .exactly(.truncatedHeader(file: f, neededBytes: 10, availableBytes: 9))),
            ("header length beyond file", npy(header("(6,)")).prefix(40), .exactly(.truncatedHeader(file: f, neededBytes: 10 + 58, availableBytes: 40))),
            ("header length too large", Data(longLength), .exactly(.headerTooLarge(file: f, length: 0xFFFF_FFFF, limit: 1 << 20))),
            ("header not a dict", npy("[('descr', '<f4')]\n", data: six), .malformedHeader(containing: "not a Python dict")),
            ("header is garbage", npy("\u{1}\u{2}\u{3}", data: six), .malformedHeader(containing: "\\x01")),
            ("unterminated string", npy("{'descr': '<f4}", data: six), .malformedHeader(containing: "unterminated string")),
            ("missing colon", npy("{'descr' '<f4'}", data: six), .malformedHeader(containing: "expected ':'")),
            ("unclosed dict", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,)", data: six), .malformedHeader(containing: "end of header")),
            ("text after dict", npy(header("(6,)") + "x", data: six), .malformedHeader(containing: "after the header dict")),
            ("deep nesting", npy("{'shape': \(deep)}", version: (2, 0)), .malformedHeader(containing: "nested")),
            ("duplicate key", npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}", data: six), .malformedHeader(containing: "duplicate key 'descr'")),
            ("missing shape", npy("{'descr': '<f4', 'fortran_order': False}", data: six), .exactly(.missingKey(file: f, key: "shape"))),
            ("missing descr", npy("{'fortran_order': False, 'shape': (6,)}", data: six), .exactly(.missingKey(file: f, key: "descr"))),
            ("missing fortran_order", npy("{'descr': '<f4', 'shape': (6,)}", data: six), .exactly(.missingKey(file: f, key: "fortran_order"))),
            ("unexpected key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'extra': 1}", data: six), .exactly(.unexpectedKey(file: f, key: "extra"))),
            ("fortran_order not bool", npy(header("(6,)", fortran: "'no'"), data: six), .malformedHeader(containing: "'fortran_order' must be True or False")),
            ("shape not a tuple", npy(header("(6)"), data: six), .malformedHeader(containing: "'shape' must be a tuple")),
            ("shape is a list", npy(header("[6]"), data: six), .malformedHeader(containing: "'shape' must be a tuple")),
            ("shape of strings", npy(header("('6',)"), data: six), .malformedHeader(containing: "'shape' must be a tuple")),
            ("too many axes", npy(header("(" + String(repeating: "1, ", count: 65) + ")"), data: floatBytes([1])), .malformedHeader(containing: "65 dimensions")),
            ("negative dimension", npy(header("(-1, 3)"), data: six), .exactly(.invalidDimension(file: f, axis: 0, value: "-1"))),
            ("dimension above 2^40", npy(header("(3, 1099511627777)")), .exactly(.invalidDimension(file: f, axis: 1, value: "1099511627777"))),
            ("dimension beyond Int", npy(header("(99999999999999999999999999,)")), .exactly(.invalidDimension(file: f, axis: 0, value: "99999999999999999999999999"))),
            ("element count overflow", npy(header("(1099511627776, 1099511627776)")), .exactly(.shapeOverflow(file: f, shape: [1 << 40, 1 << 40]))),
            ("byte count overflow", npy(header("(2147483648, 2147483648)", descr: "'<f8'")), .exactly(.shapeOverflow(file: f, shape: [1 << 31, 1 << 31]))),
            ("huge shape, tiny file", npy(header("(1073741824, 1024)"), data: six), .exactly(.truncatedData(file: f, expectedBytes: 1 << 42, actualBytes: 24))),
            ("truncated data", npy(header("(2, 3)"), data: Array(six.dropLast(4))), .exactly(.truncatedData(file: f, expectedBytes: 24, actualBytes: 20))),
            ("trailing data", npy(header("(2, 3)"), data: six + [0]), .exactly(.trailingData(file: f, expectedBytes: 24, actualBytes: 25))),
            ("scalar with no data", npy(header("()")), .exactly(.truncatedData(file: f, expectedBytes: 4, actualBytes: 0))),
            ("big-endian float32", npy(header("(6,)", descr: "'>f4'"), data: six), .exactly(.unsupportedDType(file: f, descr: ">f4"))),
            ("int64", npy(header("(3,)", descr: "'<i8'"), data: six), .exactly(.unsupportedDType(file: f, descr: "<i8"))),
            ("object", npy(header("(6,)", descr: "'|O'"), data: six), .exactly(.unsupportedDType(file: f, descr: "|O"))),
            ("float16", npy(header("(12,)", descr: "'<f2'"), data: six), .exactly(.unsupportedDType(file: f, descr: "<f2"))),
            ("native-order float32", npy(header("(6,)", descr: "'=f4'"), data: six), .exactly(.unsupportedDType(file: f, descr: "=f4"))),
            ("dtype name", npy(header("(6,)", descr: "'float32'"), data: six), .exactly(.unsupportedDType(file: f, descr: "float32"))),
            ("structured dtype", npy(header("(6,)", descr: "[('a', '<f4')]"), data: six), .exactly(.unsupportedDType(file: f, descr: "[('a', '<f4')]"))),
            ("fortran order", npy(header("(2, 3)", fortran: "True"), data: six), .exactly(.fortranOrder(file: f))),
            ("float64 beyond Float", npy(header("(2,)", descr: "'<f8'"), data: doubleBytes([1, -1e39])), .exactly(.valueOutOfRange(file: f, index: 1, value: -1e39))),
        ]
        for (name, data, expected) in cases {
            XCTAssertThrowsError(try NPYArray(parsing: data), name) { error in
                guard let error = error as? NPYError else { return XCTFail("\(name): \(error)") }
                switch expected {
                case .exactly(let want):
                    XCTAssertEqual(error, want, name)
                case .malformedHeader(let fragment):
                    guard case .malformedHeader(file: f, reason: let reason) = error else {
                        return XCTFail("\(name): expected malformedHeader, got \(error)")
                    }
                    XCTAssertTrue(reason.contains(fragment), "\(name): \(reason)")
                }
            }
        }
    }

    /// Every prefix and many random corruptions of a valid file must throw or parse, never trap.
    func testCorruptedBytesNeverCrash() throws {
        let original = [UInt8](try Data(contentsOf: fixture("f64_3d.npy")))
        for length in 0..<original.count {
            _ = try? NPYArray(parsing: Data(original[0..<length]))
        }
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15  // fixed seed: failures must reproduce
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let interesting = Array("{}()[],:'\" -0123456789LTrueFalseNone<>f4f8\n".utf8) + [0x00, 0xFF, 0x93]
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<(1 + next() % 4) {
                let index = next() % 140  // the header and the first data bytes
                bytes[index] = next() % 2 == 0 ? interesting[next() % interesting.count] : UInt8(truncatingIfNeeded: next())
            }
            _ = try? NPYArray(parsing: Data(bytes))
        }
    }

    func testReadRejectsUnreadableAndOversizedFiles() {
        XCTAssertThrowsError(try NPYArray.read(from: fixture("does-not-exist.npy"))) { error in
            guard case .unreadable(file: "does-not-exist.npy", reason: _)? = error as? NPYError else {
                return XCTFail("\(error)")
            }
        }
        XCTAssertThrowsError(try NPYArray.read(from: npyFixtures)) { error in
            XCTAssertEqual(error as? NPYError, .unreadable(file: "npy", reason: "not a regular file"))
        }
        XCTAssertThrowsError(try NPYArray.read(from: fixture("f32_2d.npy"), maxBytes: 100)) { error in
            XCTAssertEqual(error as? NPYError, .fileTooLarge(file: "f32_2d.npy", bytes: 176, limit: 100))
        }
    }
}
