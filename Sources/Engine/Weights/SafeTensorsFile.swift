// Reader for the safetensors format, the one weights format of the project: an 8-byte little-endian
// header length, a JSON header naming each tensor's dtype, shape and byte range, then the raw data.
// The file is memory-mapped; every header field is checked against the file before anything is read,
// and tensors are handed out by name with their expected shape so a wrong file fails with a message
// naming the tensor. Spec: https://github.com/huggingface/safetensors (format section).
import Foundation

/// A memory-mapped, validated safetensors file.
public struct SafeTensorsFile: @unchecked Sendable {  // Data is immutable here; unchecked for the mapping
    /// Element types we accept; anything else is an error naming it.
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"
        var bytes: Int { self == .f32 ? 4 : 2 }
    }

    public struct TensorInfo: Sendable, Equatable {
        public let dtype: DType
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    /// Largest header we parse (the reference implementation's limit).
    public static let maxHeaderBytes = 100 << 20

    public let source: String
    public let metadata: [String: String]
    public let tensors: [String: TensorInfo]
    private let data: Data
    private let dataStart: Int

    public init(contentsOf url: URL) throws(WeightsError) {
        let name = url.lastPathComponent
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw .unreadable("\(name): cannot read weights file: \(error.localizedDescription)")
        }
        try self.init(data: data, source: name)
    }

    public init(data: Data, source: String) throws(WeightsError) {
        self.source = source
        guard data.count >= 8 else { throw .malformed("\(source): \(data.count) bytes is too short for a safetensors file") }
        var headerLength: UInt64 = 0
        for k in 0..<8 { headerLength |= UInt64(data[data.startIndex + k]) << (8 * UInt64(k)) }
        guard headerLength <= UInt64(Self.maxHeaderBytes), Int(headerLength) <= data.count - 8 else {
            throw .malformed("\(source): header length \(headerLength) exceeds the file (\(data.count) bytes) or the \(Self.maxHeaderBytes)-byte limit")
        }
        let headerBytes = data.subdata(in: (data.startIndex + 8)..<(data.startIndex + 8 + Int(headerLength)))
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any] else {
            throw .malformed("\(source): header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var metadata = [String: String]()
        var tensors = [String: TensorInfo]()
        for (key, value) in header {
            if key == "__metadata__" {
                guard let dict = value as? [String: String] else { throw .malformed("\(source): __metadata__ must map strings to strings") }
                metadata = dict
                continue
            }
            guard let entry = value as? [String: Any], let dtypeName = entry["dtype"] as? String,
                  let shapeValues = entry["shape"] as? [Any], let offsets = entry["data_offsets"] as? [Any], offsets.count == 2
            else { throw .malformed("\(source): tensor '\(key)' needs dtype, shape and two data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw .unsupportedDType("\(source): tensor '\(key)' has dtype \(dtypeName); supported: F32, F16, BF16")
            }
            var shape = [Int]()
            // The byte count, not the element count, is what must not overflow: 2^62 F32 values fit in an Int,
            // their bytes do not.
            var byteCount = dtype.bytes
            for v in shapeValues {
                guard let n = v as? Int, n >= 0, n <= 1 << 32 else { throw .malformed("\(source): tensor '\(key)' has an invalid shape \(shapeValues)") }
                let (product, overflow) = byteCount.multipliedReportingOverflow(by: n)
                guard !overflow else { throw .malformed("\(source): tensor '\(key)' shape overflows") }
                shape.append(n)
                byteCount = product
            }
            guard let begin = offsets[0] as? Int, let end = offsets[1] as? Int, begin >= 0, begin <= end, end <= dataLength else {
                throw .malformed("\(source): tensor '\(key)' has data_offsets \(offsets) outside the \(dataLength)-byte data section")
            }
            guard end - begin == byteCount else {
                throw .malformed("\(source): tensor '\(key)' has \(end - begin) bytes but shape \(shape) of \(dtypeName) needs \(byteCount)")
            }
            tensors[key] = TensorInfo(dtype: dtype, shape: shape, range: begin..<end)
        }
        // The data section must be covered exactly once: no overlaps, no holes (as the format requires).
        var covered = 0
        for info in tensors.values.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            guard info.range.lowerBound == covered else {
                throw .malformed("\(source): tensor data overlaps or leaves a gap at byte \(covered)")
            }
            covered = info.range.upperBound
        }
        guard covered == dataLength else { throw .malformed("\(source): \(dataLength - covered) bytes after the last tensor") }
        self.metadata = metadata
        self.tensors = tensors
        self.data = data
        self.dataStart = dataStart
    }

    /// The tensor `name` as Floats, after checking its shape is `shape`.
    public func floats(_ name: String, shape expected: [Int]) throws(WeightsError) -> [Float] {
        guard let info = tensors[name] else { throw .missingTensor("\(source): tensor '\(name)' is missing") }
        guard info.shape == expected else {
            throw .wrongShape("\(source): tensor '\(name)' has shape \(info.shape), expected \(expected)")
        }
        let count = info.range.count / info.dtype.bytes
        var out = [Float](repeating: 0, count: count)
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress! + dataStart + info.range.lowerBound
            out.withUnsafeMutableBufferPointer { o in
                switch info.dtype {
                case .f32:
                    for i in 0..<count { o[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .f16:
                    for i in 0..<count { o[i] = Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                case .bf16:
                    for i in 0..<count { o[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                }
            }
        }
        return out
    }
}

/// Hands out a model's tensors by name and checks, at the end, that the file held nothing else.
public struct WeightsReader {
    public let file: SafeTensorsFile
    private var taken = Set<String>()

    public init(_ file: SafeTensorsFile) { self.file = file }

    /// The tensor `name` with the given shape; each name may be taken once.
    public mutating func take(_ name: String, _ shape: [Int]) throws(WeightsError) -> [Float] {
        taken.insert(name)
        return try file.floats(name, shape: shape)
    }

    /// Whether the file has a tensor of this name (for optional parts such as biases).
    public func has(_ name: String) -> Bool { file.tensors[name] != nil }

    /// Errors if the file holds tensors the model did not take.
    public func finish() throws(WeightsError) {
        let extra = Set(file.tensors.keys).subtracting(taken).sorted()
        if !extra.isEmpty {
            let shown = extra.prefix(5).joined(separator: ", ")
            throw .unexpectedTensor("\(file.source): \(extra.count) unexpected tensor(s): \(shown)\(extra.count > 5 ? ", …" : "")")
        }
    }
}

/// What can be wrong with a weights file.
public enum WeightsError: Error, Equatable, CustomStringConvertible {
    case unreadable(String)
    case malformed(String)
    case unsupportedDType(String)
    case missingTensor(String)
    case wrongShape(String)
    case unexpectedTensor(String)
    case wrongArchitecture(String)

    public var description: String {
        switch self {
        case .unreadable(let m), .malformed(let m), .unsupportedDType(let m), .missingTensor(let m),
             .wrongShape(let m), .unexpectedTensor(let m), .wrongArchitecture(let m): m
        }
    }
}
