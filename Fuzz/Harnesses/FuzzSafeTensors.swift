// libFuzzer harness for the safetensors reader, the weights format: the input is a whole file (8-byte
// header length, JSON header, data). Every tensor of a file that opens is then read as floats with its
// own shape, as a model loader would.
import Engine
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? SafeTensorsFile(data: Data(bytes: data, count: size), source: "fuzz") else { return 0 }
    for (name, info) in file.tensors {
        do {
            let values = try file.floats(name, shape: info.shape)
            fuzzCheck(values.count == info.shape.reduce(1, *), "tensor \(name) has \(values.count) values")
        } catch {
            fuzzCheck(false, "tensor \(name) was listed but cannot be read: \(error)")
        }
    }
    return 0
}
