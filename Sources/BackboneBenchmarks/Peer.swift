// One peer process (tools/bench_peers.py) for one (model, batch, size): started with `$PYTHON` (default `python3`;
// `make bench-backbones` points it at the virtual environment that holds torch and onnxruntime), it prints one
// JSON object per line; the benchmark sends `time R`, `check`, then `quit` and reads its VmHWM.
import Foundation

final class Peer {
    let process = Process()
    private let input = Pipe(), output = Pipe()
    private var pending = Data()
    private(set) var description = ""

    init(script: URL, model: String, batch: Int, size: Int, extra: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [ProcessInfo.processInfo.environment["PYTHON"] ?? "python3", script.path, model, String(batch), String(size)] + extra
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        let ready = try reply()
        guard ready["ready"] as? Bool == true else { fatalError("bench_peers.py \(model): unexpected \(ready)") }
        description = ready["peer"] as? String ?? "?"
    }

    private func reply() throws -> [String: Any] {
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = pending[pending.startIndex..<newline]
                pending.removeSubrange(pending.startIndex...newline)
                guard let object = try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                    fatalError("bench_peers.py: not a JSON object: \(String(decoding: line, as: UTF8.self))")
                }
                return object
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { fatalError("bench_peers.py exited early (\(process.arguments ?? []))") }
            pending.append(chunk)
        }
    }

    func send(_ line: String) throws -> [String: Any] {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
        return try reply()
    }

    /// Per-run wall times in seconds for the whole batch.
    func time(repeats: Int) throws -> [Double] {
        ((try send("time \(repeats)"))["ms"] as? [Double] ?? []).map { $0 / 1000 }
    }

    func check() throws -> [Float] {
        ((try send("check"))["values"] as? [Double] ?? []).map { Float($0) }
    }

    /// Ends the process; its peak RSS (VmHWM) and final RSS (VmRSS) in KiB.
    func finish() throws -> (peak: Int, final: Int) {
        let last = try send("quit")
        let kib = (last["vmhwm_kib"] as? Int ?? -1, last["vmrss_kib"] as? Int ?? -1)
        input.fileHandleForWriting.closeFile()
        process.waitUntilExit()
        return kib
    }
}
