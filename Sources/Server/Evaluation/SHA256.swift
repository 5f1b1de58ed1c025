// SHA-256 (FIPS 180-4), written out here because the feature cache needs a collision-resistant content
// hash and the project takes no new package dependency for one function. Checked against the FIPS
// example vectors in EvaluationSHA256Tests. Not constant-time: it hashes files, never secrets.
// Blocks go through the CPU's SHA extensions when it has them (CSHA256; ≈ 1.2 GB/s here against ≈ 185 MB/s
// for the Swift rounds, docs/HARDENING.md); the Swift rounds are the fallback, and the tests hold the two equal.
import CSHA256
import Foundation

/// Incremental SHA-256: `update` with any number of chunks, then `finalize` once.
struct SHA256 {
    /// K0…K63 (FIPS 180-4 §4.2.2), from the one table the SHA-NI code uses too.
    private static let k = Array(UnsafeBufferPointer(start: csha256_round_constants(), count: 64))

    /// Initial hash value H(0) (FIPS 180-4 §5.3.3).
    private var state: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]
    /// Bytes waiting for a full 64-byte block.
    private var pending = [UInt8]()
    private var messageBytes: UInt64 = 0
    /// The message schedule W (64 words), kept to avoid an allocation per block.
    private var schedule = [UInt32](repeating: 0, count: 64)

    /// Whether this CPU has the SHA extensions (checked once).
    static let hardwareAvailable = csha256_hardware_available() == 1
    /// Compress through the SHA extensions; tests turn it off to check the Swift rounds.
    var usesHardware = SHA256.hardwareAvailable

    init() { pending.reserveCapacity(64) }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        messageBytes &+= UInt64(bytes.count)
        var offset = 0
        if !pending.isEmpty {
            let take = min(64 - pending.count, bytes.count)
            pending.append(contentsOf: bytes[0..<take])
            offset = take
            if pending.count == 64 {
                pending.withUnsafeBytes { compress($0.baseAddress!, blocks: 1) }
                pending.removeAll(keepingCapacity: true)
            }
        }
        let blocks = (bytes.count - offset) / 64
        if blocks > 0 {
            compress(bytes.baseAddress! + offset, blocks: blocks)
            offset += 64 * blocks
        }
        if offset < bytes.count { pending.append(contentsOf: bytes[offset...]) }
    }

    mutating func update<Bytes: ContiguousBytes>(_ bytes: Bytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Pads (a 1 bit, zeros, the 64-bit big-endian bit length) and returns the 32-byte digest.
    mutating func finalize() -> [UInt8] {
        let bitLength = messageBytes &* 8
        var tail: [UInt8] = [0x80]
        let used = (pending.count + 1) % 64
        tail += [UInt8](repeating: 0, count: used <= 56 ? 56 - used : 120 - used)
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        let length = messageBytes
        tail.withUnsafeBytes { update($0) }
        messageBytes = length
        precondition(pending.isEmpty, "padding must end on a block boundary")
        var digest = [UInt8]()
        digest.reserveCapacity(32)
        for word in state { for shift in [24, 16, 8, 0] { digest.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) } }
        return digest
    }

    private mutating func compress(_ data: UnsafeRawPointer, blocks: Int) {
        if usesHardware {
            state.withUnsafeMutableBufferPointer { h in
                csha256_compress_blocks(h.baseAddress!, data.assumingMemoryBound(to: UInt8.self), blocks)
            }
            return
        }
        schedule.withUnsafeMutableBufferPointer { w in
            state.withUnsafeMutableBufferPointer { h in
                for i in 0..<blocks { Self.compress(data + 64 * i, state: h.baseAddress!, schedule: w.baseAddress!) }
            }
        }
    }

    /// One 64-byte block into the hash state H (8 words), using W (64 words) as scratch (FIPS 180-4 §6.2.2).
    private static func compress(_ block: UnsafeRawPointer, state h: UnsafeMutablePointer<UInt32>, schedule w: UnsafeMutablePointer<UInt32>) {
        for t in 0..<16 {
            let b = block.assumingMemoryBound(to: UInt8.self) + 4 * t
            w[t] = UInt32(b[0]) << 24 | UInt32(b[1]) << 16 | UInt32(b[2]) << 8 | UInt32(b[3])
        }
        for t in 16..<64 {
            let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
            let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
            w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
        }
        var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7]
        k.withUnsafeBufferPointer { k in
            for t in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                hh = g; g = f; f = e; e = d &+ t1
                d = c; c = b; b = a; a = t1 &+ t2
            }
        }
        h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d
        h[4] &+= e; h[5] &+= f; h[6] &+= g; h[7] &+= hh
    }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    /// The digest of `bytes` as 64 lower-case hex digits.
    static func hex<Bytes: ContiguousBytes>(_ bytes: Bytes) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return hexString(hasher.finalize())
    }

    /// The digest of a file's contents, read 1 MiB at a time, as 64 lower-case hex digits.
    static func hex(fileAt url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(chunk) }
        return hexString(hasher.finalize())
    }

    static func hexString(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(digest.count * 2)
        for byte in digest { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
