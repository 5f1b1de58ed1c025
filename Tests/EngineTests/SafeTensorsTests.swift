// The safetensors reader: dtype conversion, and every way a header can be wrong as a named error.
import Foundation
import XCTest
@testable import Engine

final class SafeTensorsTests: XCTestCase {
    /// A safetensors file from a raw JSON header and data bytes.
    func file(_ header: String, _ data: [UInt8]) -> Data {
        var out = Data()
        var n = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(contentsOf: data)
        return out
    }

    func bytes(_ values: [Float]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } } }

    func testReadsF32F16AndBF16() throws {
        let f32 = bytes([1.5, -2, 0.25, 1e-8])
        let f16: [UInt8] = [0x00, 0x3C, 0x00, 0xC0]  // 1.0, −2.0
        let bf16: [UInt8] = [0x40, 0x40, 0x80, 0xBF]  // 3.0, −1.0
        let header = """
            {"__metadata__":{"architecture":"test"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},\
            "b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},"c":{"dtype":"BF16","shape":[2],"data_offsets":[20,24]}}
            """
        let st = try SafeTensorsFile(data: file(header, f32 + f16 + bf16), source: "t.safetensors")
        XCTAssertEqual(st.metadata, ["architecture": "test"])
        XCTAssertEqual(try st.floats("a", shape: [2, 2]), [1.5, -2, 0.25, 1e-8])
        XCTAssertEqual(try st.floats("b", shape: [2]), [1, -2])
        XCTAssertEqual(try st.floats("c", shape: [2]), [3, -1])
        var reader = WeightsReader(st)
        _ = try reader.take("a", [2, 2])
        _ = try reader.take("b", [2])
        XCTAssertThrowsError(try reader.finish()) { error in
            XCTAssertEqual(error as? WeightsError, .unexpectedTensor("t.safetensors: 1 unexpected tensor(s): c"))
        }
        _ = try reader.take("c", [2])
        XCTAssertNoThrow(try reader.finish())
        XCTAssertThrowsError(try st.floats("a", shape: [4])) { error in
            XCTAssertEqual(error as? WeightsError, .wrongShape("t.safetensors: tensor 'a' has shape [2, 2], expected [4]"))
        }
        XCTAssertThrowsError(try st.floats("zz", shape: [1])) { error in
            XCTAssertEqual(error as? WeightsError, .missingTensor("t.safetensors: tensor 'zz' is missing"))
        }
    }

    func testMalformedFilesAreNamedErrors() {
        let four = bytes([1, 2, 3, 4])
        let cases: [(String, Data, String)] = [
            ("too short", Data([1, 2, 3]), "too short"),
            ("header past end", { var d = file("{}", []); d[0] = 200; return d }(), "exceeds the file"),
            ("not JSON", file("{nope", []), "header is not a JSON object"),
            ("JSON array", file("[1,2]", []), "header is not a JSON object"),
            ("bad dtype", file(#"{"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#, four + four), "dtype I64; supported: F32, F16, BF16"),
            ("missing field", file(#"{"a":{"dtype":"F32","data_offsets":[0,16]}}"#, four), "needs dtype, shape and two data_offsets"),
            ("negative dim", file(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,16]}}"#, four), "invalid shape"),
            ("offsets past data", file(#"{"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}}"#, four), "outside the 16-byte data section"),
            ("size mismatch", file(#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, four), "has 16 bytes but shape [3] of F32 needs 12"),
            ("reversed offsets", file(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}}"#, four), "data_offsets"),
            ("gap", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, four), "overlaps or leaves a gap at byte 0"),
            ("overlap", file(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#, four), "overlaps or leaves a gap"),
            ("trailing bytes", file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, four), "8 bytes after the last tensor"),
            ("metadata not strings", file(#"{"__metadata__":{"a":1}}"#, []), "__metadata__ must map strings to strings"),
        ]
        for (name, data, expected) in cases {
            XCTAssertThrowsError(try SafeTensorsFile(data: data, source: "w.safetensors"), name) { error in
                let message = "\(error)"
                XCTAssert(message.hasPrefix("w.safetensors: ") && message.contains(expected), "\(name): '\(message)'")
            }
        }
        XCTAssertThrowsError(try SafeTensorsFile(contentsOf: URL(fileURLWithPath: "/nonexistent/x.safetensors"))) { error in
            XCTAssert("\(error)".hasPrefix("x.safetensors: cannot read weights file"))
        }
    }

    /// Fuzz regression (Tests/Fixtures/fuzz/README.md): shape [2^32, 2^30] of F32 is 2^62 elements, whose
    /// byte count overflowed and trapped.
    func testShapeWhoseByteCountOverflowsIsAnError() throws {
        let data = try Data(contentsOf: fixtureURL("fuzz/safetensors_byte_count_overflow.safetensors"))
        XCTAssertThrowsError(try SafeTensorsFile(data: data, source: "w.safetensors")) { error in
            XCTAssertEqual(error as? WeightsError, .malformed("w.safetensors: tensor 'a' shape overflows"))
        }
    }

    func testPythonWriterOutputLoads() throws {
        // tools/safetensors_np.py wrote this: {"w": arange(6).reshape(2,3)*0.5 float32, "h": [1,-2] float16}.
        let st = try SafeTensorsFile(contentsOf: fixtureURL("safetensors/python_writer.safetensors"))
        XCTAssertEqual(try st.floats("w", shape: [2, 3]), [0, 0.5, 1, 1.5, 2, 2.5])
        XCTAssertEqual(try st.floats("h", shape: [2]), [1, -2])
        XCTAssertEqual(st.metadata["architecture"], "test")
    }
}
