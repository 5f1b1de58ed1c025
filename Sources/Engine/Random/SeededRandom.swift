// The one random number generator of the project: SplitMix64, seeded, identical on every platform.
// Everything random — choices of normal images, random projections, test data — goes through it so
// that a seed reproduces a run exactly.
import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and reproducible from its 64-bit seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A standard normal value (Box–Muller).
    public mutating func normal() -> Double {
        let u1 = 1 - uniform()  // (0, 1]: log stays finite
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * uniform())
    }

    /// `count` normal values scaled by `scale`, as Floats.
    public mutating func normals(_ count: Int, scale: Double = 1) -> [Float] {
        (0..<count).map { _ in Float(normal() * scale) }
    }
}
