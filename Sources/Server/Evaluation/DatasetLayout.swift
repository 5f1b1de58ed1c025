// Finds the categories to evaluate under each ROOT: an MVTec AD tree (`ROOT/<category>/test/<defect>/*.png`
// with normal references in `ROOT/<category>/train/good`), a single MVTec category folder (ROOT/test), or a
// flat tree (`ROOT/<class>/*.jpg`, one category named after ROOT, no normal references). Groups follow
// ALGORITHM.md §7 (10 MVTec objects, 5 textures); a flat tree is its own group.
import Engine
import Foundation

/// One category of an evaluation: its labelled test images and, where the layout has them, normal references.
struct EvaluationCategory {
    let name: String
    /// "object", "texture", "other" (an MVTec-style category outside the 15), or the category's own name.
    let group: String
    /// "mvtec" or "flat".
    let layout: String
    let root: URL
    /// Every test image, labelled by its sub-folder, in `ImageFolder` order.
    var images: [ImageFile]
    /// Candidate normal references (`train/good`), nil for a flat tree.
    var normals: [ImageFile]?
}

enum DatasetLayout {
    /// MVTec AD's object and texture categories (ALGORITHM.md §7).
    static let objects: Set<String> = [
        "bottle", "cable", "capsule", "hazelnut", "metal_nut", "pill", "screw", "toothbrush", "transistor", "zipper",
    ]
    static let textures: Set<String> = ["carpet", "grid", "leather", "tile", "wood"]

    static func group(ofMVTecCategory name: String) -> String {
        objects.contains(name) ? "object" : textures.contains(name) ? "texture" : "other"
    }

    /// The categories under `roots`, keeping only `only` (by name) when it is given.
    /// - Throws: `CLIError` naming the root or category that is wrong.
    static func discover(_ roots: [URL], only: [String]?) throws -> [EvaluationCategory] {
        var found = [EvaluationCategory]()
        for root in roots {
            for category in try categories(under: root) {
                if found.contains(where: { $0.name == category.name }) {
                    throw CLIError("two categories are called '\(category.name)' (the second under \(root.path))")
                }
                found.append(category)
            }
        }
        guard let only else { return found }
        let unknown = only.filter { name in !found.contains { $0.name == name } }
        if !unknown.isEmpty {
            throw CLIError("--categories: no category \(unknown.joined(separator: ", ")); found \(found.map(\.name).joined(separator: ", "))")
        }
        return only.map { name in found.first { $0.name == name }! }
    }

    static func categories(under root: URL) throws -> [EvaluationCategory] {
        guard isFolder(root) else { throw CLIError("\(root.path) is not a folder") }
        if isFolder(root.appendingPathComponent("test")) { return [try mvtecCategory(root)] }
        let children = try subfolders(of: root)
        let mvtec = children.filter { isFolder($0.appendingPathComponent("test")) }
        if !mvtec.isEmpty { return try mvtec.map(mvtecCategory) }
        return [try flatCategory(root)]
    }

    /// `folder/test/<defect>/*` and, when present, `folder/train/good/*`.
    static func mvtecCategory(_ folder: URL) throws -> EvaluationCategory {
        let name = folder.lastPathComponent
        let test = folder.appendingPathComponent("test")
        let images = try labelledImages(test)
        let good = folder.appendingPathComponent("train/good")
        let normals = isFolder(good) ? try ImageFolder.list(good).filter { $0.label == nil } : nil
        return EvaluationCategory(
            name: name, group: group(ofMVTecCategory: name), layout: "mvtec", root: folder, images: images,
            normals: normals?.isEmpty == true ? nil : normals)
    }

    /// `folder/<class>/*`: one category named after the folder, its own group, no normal references.
    static func flatCategory(_ folder: URL) throws -> EvaluationCategory {
        let name = folder.lastPathComponent
        return EvaluationCategory(
            name: name, group: name, layout: "flat", root: folder, images: try labelledImages(folder), normals: nil)
    }

    /// Images one folder down (the folder is the label); loose images at the top are an error, since the
    /// evaluation needs a ground-truth label for every image.
    static func labelledImages(_ folder: URL) throws -> [ImageFile] {
        let files = try ImageFolder.list(folder)
        if let loose = files.first(where: { $0.label == nil }) {
            throw CLIError("\(folder.path)/\(loose.name) has no label: evaluation needs every image in a <label>/ sub-folder")
        }
        return files
    }

    static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func subfolders(of folder: URL) throws -> [URL] {
        let entries: [URL]
        do { entries = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil) } catch {
            throw CLIError("cannot list \(folder.path): \(error.localizedDescription)")
        }
        return entries.filter { !$0.lastPathComponent.hasPrefix(".") && isFolder($0) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}
