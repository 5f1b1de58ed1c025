// libFuzzer harness for job options, the two ways a client sends them: each input is parsed as the JSON of
// a multipart `options` part and as the query string of a tar upload (`POST /v1/jobs?…`, through
// `HTTPRequestTarget`). Options that parse must read back equal from their stored JSON form, because the
// job resource is rebuilt from it. The registry is the repository's `config/backbones.json`.
import Engine
import Foundation

private let registry: BackboneRegistry = {
    do { return try BackboneRegistry.load(from: URL(fileURLWithPath: "config/backbones.json")) } catch {
        fatalError("run from the repository root, where config/backbones.json is: \(error)")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJobOptions(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = fuzzBytes(data, size)
    if let options = try? JobOptions.parse(json: bytes, registry: registry) {
        checkStoredForm(options)
    }
    if let target = HTTPRequestTarget((Array("/v1/jobs?".utf8) + bytes)[...], method: .post),
        let options = try? JobOptions.parse(query: target.queryItems.map { ($0.name, $0.value) }, registry: registry)
    {
        checkStoredForm(options)
    }
    return 0
}

/// `options.json`, as stored with the job, must parse back to `options`.
private func checkStoredForm(_ options: JobOptions) {
    do {
        let again = try JobOptions.parse(json: Array(options.json.utf8), registry: registry)
        fuzzCheck(again == options, "\(options.json) read back as \(again.json)")
    } catch {
        fuzzCheck(false, "stored options \(options.json) do not parse: \(error)")
    }
}
