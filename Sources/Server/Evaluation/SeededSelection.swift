// Seeded choices of images: a fixed subset per class (`--per-class N`, e.g. 50 of NEU's 300 per class) and
// the normal references (`--normals N`). The seed's own code shuffles without a seed (ALGORITHM.md §9); here
// each choice draws from SplitMix64 seeded by SHA-256 of (purpose, seed, category, class), so a choice
// depends only on those and on the file names — not on which other categories or classes are present.
import Engine

enum SeededSelection {
    /// At most `perClass` images of each label, chosen by a seeded shuffle; the result keeps `images`' order.
    static func subset(_ images: [ImageFile], perClass: Int, seed: UInt64, category: String) -> [ImageFile] {
        var byLabel = [String: [Int]]()
        for (index, image) in images.enumerated() { byLabel[image.label ?? "", default: []].append(index) }
        var kept = Set<Int>()
        for (label, indices) in byLabel {
            let chosen = choose(perClass, of: indices.count, seed: derivedSeed("subset", seed, category, label))
            for i in chosen { kept.insert(indices[i]) }
        }
        return images.indices.filter(kept.contains).map { images[$0] }
    }

    /// `count` of `normals` (all of them when `count` is nil or not smaller), in `normals`' order.
    static func normals(_ normals: [ImageFile], count: Int?, seed: UInt64, category: String) -> [ImageFile] {
        guard let count, count < normals.count else { return normals }
        return choose(count, of: normals.count, seed: derivedSeed("normals", seed, category, "")).map { normals[$0] }
    }

    /// `k` distinct indices of 0..<n, ascending: the first k of a Fisher–Yates shuffle driven by `seed`.
    /// Written out rather than `shuffle(using:)`, whose algorithm the standard library does not promise to keep.
    static func choose(_ k: Int, of n: Int, seed: UInt64) -> [Int] {
        guard k < n else { return Array(0..<n) }
        var random = SeededRandom(seed: seed)
        var order = Array(0..<n)
        for i in 0..<k {
            let j = i + Int(random.next() % UInt64(n - i))  // modulo bias < n / 2^64: negligible
            order.swapAt(i, j)
        }
        return order[0..<k].sorted()
    }

    /// The first 8 bytes (big-endian) of SHA-256("purpose/seed/category/label").
    static func derivedSeed(_ purpose: String, _ seed: UInt64, _ category: String, _ label: String) -> UInt64 {
        var hasher = SHA256()
        hasher.update(Array("\(purpose)/\(seed)/\(category)/\(label)".utf8))
        return hasher.finalize().prefix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }
}
