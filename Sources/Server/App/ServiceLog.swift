// The service's log: one line per event on stderr (requests, job transitions, start and stop), each with its
// UTC time. Named apart from the math function `log`.
import Foundation

/// One line to stderr with a UTC timestamp: requests and job transitions.
func serviceLog(_ line: String) {
    let stamp = JobJSON.timestamp(JobStore.currentMilliseconds())
    FileHandle.standardError.write(Data("\(stamp) \(line)\n".utf8))
}
