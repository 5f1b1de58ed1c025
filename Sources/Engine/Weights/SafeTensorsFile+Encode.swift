// Writing safetensors files of F32 tensors: the inverse of the reader, for tests and benchmarks that
// build models with synthetic weights (converters write through tools/safetensors_np.py).
import Foundation

extension SafeTensorsFile {
    /// The bytes of a safetensors file holding `tensors` (data in name order, header padded with spaces to
    /// a multiple of 8 bytes, `__metadata__` only when non-empty). Values are written in host byte order,
    /// which is little-endian on every platform Swift targets here.
    public static func encode(_ tensors: [String: (shape: [Int], values: [Float])], metadata: [String: String] = [:]) -> Data {
        var header = [String: Any]()
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let t = tensors[name]!
            precondition(t.values.count == t.shape.reduce(1, *), "\(name): \(t.values.count) values do not fill \(t.shape)")
            header[name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]]
            offset += 4 * t.values.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])  // plain strings and ints only
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var data = Data()
        data.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(json)
        for name in names { tensors[name]!.values.withUnsafeBytes { data.append(contentsOf: $0) } }
        return data
    }
}
