// libFuzzer harness for the .npy reader (`ClusterCommand` and the feature cache read these files): the
// input is a whole file. An array that parses must also survive the writer and read back the same, bit for
// bit (NaN payloads included), since what we read we may write again.
import Engine
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let array = try? NPYArray(parsing: Data(bytes: data, count: size)) else { return 0 }
    _ = array.firstNonFinite()
    do {
        let again = try NPYArray(parsing: NPYArray.encode(shape: array.shape, values: array.values))
        fuzzCheck(
            again.shape == array.shape && again.values.map(\.bitPattern) == array.values.map(\.bitPattern),
            "shape \(array.shape) did not read back the same")
    } catch {
        fuzzCheck(false, "an array read with shape \(array.shape) cannot be written: \(error)")
    }
    return 0
}
