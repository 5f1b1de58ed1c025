// Progress of a long evaluation on stderr: a self-overwriting line while images go through a backbone
// (images/s and ETA) or while unsupervised/semi-supervised distances run (percent and ETA), and one
// permanent line per finished run. Status lines are written at most twice a second, so a log file of a long
// run stays readable. Tests pass `enabled: false` to keep their output quiet.
import Foundation

final class ProgressLog {
    let enabled: Bool
    private var lastStatus = Date.distantPast

    init(enabled: Bool = true) { self.enabled = enabled }

    /// One permanent line.
    func line(_ text: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Overwrites the current line (carriage return, then erase to the end of the line); `finish` ends it.
    func status(_ text: String) {
        guard enabled, Date().timeIntervalSince(lastStatus) >= 0.5 else { return }
        lastStatus = Date()
        FileHandle.standardError.write(Data(("\r" + text + "\u{1B}[K").utf8))
    }

    /// Ends a status line with its final text (always written).
    func finish(_ text: String? = nil) {
        guard enabled else { return }
        FileHandle.standardError.write(Data(((text.map { "\r" + $0 + "\u{1B}[K" } ?? "") + "\n").utf8))
        lastStatus = .distantPast
    }

    /// "12/83 images, 3.4 images/s, ETA 21 s".
    static func imagesText(done: Int, total: Int, since start: Date) -> String {
        let seconds = max(Date().timeIntervalSince(start), 1e-9)
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        return String(format: "%d/%d images, %.1f images/s, ETA %@", done, total, rate, durationText(eta))
    }

    /// "40 %, ETA 1 min 12 s" for a fraction of work done.
    static func fractionText(_ fraction: Double, since start: Date) -> String {
        let seconds = Date().timeIntervalSince(start)
        let eta = fraction > 0 ? seconds * (1 - fraction) / fraction : .infinity
        return String(format: "%.0f %%, ETA %@", 100 * fraction, durationText(eta))
    }

    static func durationText(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let whole = Int(seconds.rounded())
        return whole < 60 ? "\(whole) s" : "\(whole / 60) min \(whole % 60) s"
    }
}
