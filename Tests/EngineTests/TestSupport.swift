// Shared test helpers: fixture paths, and the engine's seeded generator under the tests' name.
import Engine
import Foundation

typealias SeededGenerator = SeededRandom

/// `Tests/Fixtures/<relative>` in this checkout.
func fixtureURL(_ relative: String) -> URL {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(relative)
}
