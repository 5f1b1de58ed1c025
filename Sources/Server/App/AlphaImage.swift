// GET /v1/jobs/{id}/images/{n}/alpha.png: image n as the backbone saw it (resized, centre-cropped) with its
// patch weights α over it as a heat map (bright = the patches that made the image's embedding). Rendered on
// request from the stored image and α: a decode, a resize and a PNG encode, tens of milliseconds.
import Engine
import Foundation

extension JobsAPI {
    func alphaImage(_ id: String, _ positionText: String) throws(APIError) -> HTTPServerResponse {
        guard let position = Int(positionText), position >= 0, String(position) == positionText else {
            throw APIError(400, "invalid_parameter", "image number must be a non-negative integer; got \(JSONString.quoted(positionText))")
        }
        let record = try existingJob(id)
        guard record.status == .succeeded else {
            throw APIError(409, "job_not_finished", "job \(id) is \(record.status.rawValue); heat maps exist once it has succeeded")
        }
        guard position < record.imageCount else {
            throw APIError.notFound("job \(id) has \(record.imageCount) images (0…\(record.imageCount - 1)); no image \(position)")
        }
        do {
            guard let alpha = try store.alpha(jobID: id, position: position),
                  let image = try store.images(jobID: id).first(where: { !$0.isNormal && $0.position == position })
            else { throw APIError.notFound("no heat map for image \(position) of job \(id)") }
            let options = try JobOptions.parse(json: Array(record.optionsJSON.utf8), registry: registry)
            let spec = try registry.spec(named: options.backbone).overriding(resize: options.resize, crop: options.crop)
            let decoded = try ImageDecoder.decode(
                contentsOf: URL(fileURLWithPath: config.imagesDirectory + "/" + image.image.storedPath),
                maxPixels: config.maxImagePixels)
            let heatMap = try AlphaHeatMap.render(
                decoded, alpha: alpha.weights, gridHeight: alpha.gridHeight, gridWidth: alpha.gridWidth,
                preprocessing: try spec.preprocessing())
            let png = try PNGEncoder.encode(heatMap)
            return .response(HTTPResponse(
                status: 200, headers: ["Content-Type": "image/png", "Cache-Control": "private, max-age=3600"], body: png))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(500, "render_failed", "rendering the heat map of image \(position) of job \(id): \(error)")
        }
    }
}
