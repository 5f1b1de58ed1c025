// The real service (store, worker queue, routes, HTTP server) on 127.0.0.1 with a fresh data directory,
// for tests over loopback sockets; plus request helpers and the project's own test images as uploads.
import Engine
import Foundation
import XCTest

@testable import Server

let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The converted weights, or a skip outside CI (CI fetches them first: there a missing file fails).
func weightsDirectoryOrSkip() throws -> String {
    let weights = repositoryRoot.appendingPathComponent("weights")
    if !FileManager.default.fileExists(atPath: weights.appendingPathComponent("efficientnet_lite0.safetensors").path) {
        if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("weights/efficientnet_lite0.safetensors missing in CI") }
        throw XCTSkip("weights/ missing ---> HINT: run `make weights`")
    }
    return weights.path
}

/// One multipart/form-data part.
struct FormPart {
    var name: String
    var filename: String?
    var data: [UInt8]
}

/// A multipart/form-data body and its Content-Type.
func multipartBody(_ parts: [FormPart], boundary: String = "test-boundary-7MA4YWxk") -> (contentType: String, body: [UInt8]) {
    var body: [UInt8] = []
    for part in parts {
        var head = "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(part.name)\""
        if let filename = part.filename { head += "; filename=\"\(filename)\"\r\nContent-Type: application/octet-stream" }
        head += "\r\n\r\n"
        body += Array(head.utf8) + part.data + Array("\r\n".utf8)
    }
    body += Array("--\(boundary)--\r\n".utf8)
    return ("multipart/form-data; boundary=\(boundary)", body)
}

/// A fixture image's bytes.
func fixtureImage(_ name: String) throws -> [UInt8] {
    Array(try Data(contentsOf: repositoryRoot.appendingPathComponent("Tests/Fixtures/images/\(name)")))
}

/// Two "defect types" of three images each (as `ClusterImageFolderTests` uses), as `label/file` names.
let twoGroupImages = [
    ("gray", "jpeg_gray_37x23.jpg"), ("gray", "pillow_gray_64x48.png"), ("gray", "png_gray16_37x23.png"),
    ("photo", "jpeg_optimized_300x200.jpg"), ("photo", "pillow_rgb_300x200.png"), ("photo", "pillow_rgba_64x48.png"),
]

func twoGroupParts() throws -> [FormPart] {
    try twoGroupImages.map { FormPart(name: "images", filename: "\($0.0)/\($0.1)", data: try fixtureImage($0.1)) }
}

/// Requests to a service on 127.0.0.1:port, one connection each.
struct ServiceClient {
    let port: Int

    /// One request on a new connection.
    func request(
        _ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) throws -> RawResponse {
        let client = try RawHTTPClient(port: port, timeout: .seconds(60))
        defer { client.close() }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if (!body.isEmpty || method == "POST") && !headers.contains(where: { $0.0 == "Content-Length" }) {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        try client.send(Array(head.utf8) + body)
        guard let response = try client.readResponse(bodyless: method == "HEAD") else {
            throw RawClientError(description: "\(method) \(path): closed without a response")
        }
        return response
    }

    func post(_ parts: [FormPart], headers: [(String, String)] = []) throws -> RawResponse {
        let (contentType, body) = multipartBody(parts)
        return try request("POST", "/v1/jobs", headers: [("Content-Type", contentType)] + headers, body: body)
    }

    /// Parsed JSON object of a response body.
    static func object(_ response: RawResponse) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
            throw RawClientError(description: "not a JSON object: \(response.bodyText)")
        }
        return object
    }

    /// Polls the job until it is final; fails after `timeout`. Returns the last resource and every
    /// (stage, progress) seen on the way.
    func waitForJob(_ id: String, timeout: Double = 300, headers: [(String, String)] = []) throws
        -> (job: [String: Any], seen: [(String?, Double)])
    {
        let deadline = Date().addingTimeInterval(timeout)
        var seen: [(String?, Double)] = []
        while Date() < deadline {
            let job = try Self.object(try request("GET", "/v1/jobs/\(id)", headers: headers))
            seen.append((job["stage"] as? String, job["progress"] as? Double ?? -1))
            if let status = job["status"] as? String, ["succeeded", "failed", "cancelled"].contains(status) {
                return (job, seen)
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw RawClientError(description: "job \(id) did not finish within \(timeout) s")
    }
}

/// The real service in this process, on a fresh data directory removed at the end.
final class TestService {
    let dataDirectory: URL
    let service: Service
    let client: ServiceClient

    init(configure: (inout ServerConfig) -> Void = { _ in }) throws {
        dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("service-\(UUID().uuidString)")
        var config = ServerConfig()
        config.port = 0
        config.dataDirectory = dataDirectory.path
        config.weightsDirectory = repositoryRoot.appendingPathComponent("weights").path
        config.registryPath = repositoryRoot.appendingPathComponent("config/backbones.json").path
        config.defaultBackbone = "efficientnet-lite0"
        configure(&config)
        service = try Service(config: config)
        client = ServiceClient(port: try service.start())
    }

    deinit {
        service.stop()
        try? FileManager.default.removeItem(at: dataDirectory)
    }

    var port: Int { client.port }

    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> RawResponse {
        try client.request(method, path, headers: headers, body: body)
    }

    func post(_ parts: [FormPart], headers: [(String, String)] = []) throws -> RawResponse {
        try client.post(parts, headers: headers)
    }

    func waitForJob(_ id: String, timeout: Double = 300) throws -> (job: [String: Any], seen: [(String?, Double)]) {
        try client.waitForJob(id, timeout: timeout)
    }

    static func object(_ response: RawResponse) throws -> [String: Any] { try ServiceClient.object(response) }

    /// Files in the images directory (uploads kept).
    var storedImages: [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory.appendingPathComponent("images").path)) ?? []
    }
}
