// The process's open-file limit (RLIMIT_NOFILE) and the connection cap it can afford. Every connection costs
// descriptors, and when they run out the damage is not limited to connections: accept fails (EMFILE, so
// clients wait unanswered in the backlog instead of getting a 503) and so does every other open — a job's
// images, an upload's body file. tools/limits_test.py found a running job failed as `image_unreadable` by 400
// idle connections under `ulimit -n 256`. So the service raises the soft limit and, if it is still too low
// for `max_connections`, serves fewer connections rather than run out.
import Glibc

enum OpenFileLimit {
    /// Descriptors one connection slot can hold at once: its socket and a request body's temporary file (or
    /// a file being sent), plus the socket of a 503 connection the cap lets through beside it
    /// (`HTTPServerLoop.open` answers as many connections over the cap as under it).
    static let descriptorsPerConnection = 3
    /// Descriptors kept for everything else: the listener, epoll, the eventfd, the database's two connections
    /// with their WAL and shared-memory files, the image files a job's worker reads, standard streams.
    static let reservedDescriptors = 64

    /// The soft and hard limits now.
    static func current() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (1024, 1024) }
        return (Self.clamped(limit.rlim_cur), Self.clamped(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one, as Go's runtime does at start (since 1.19): a soft limit of 1024
    /// (systemd's default) only protects programs that use select(2), and this server uses epoll.
    /// - Returns: the soft limit in force afterwards (unchanged if raising failed).
    @discardableResult
    static func raiseSoftLimitToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return current().soft }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        return current().soft
    }

    /// The most connections that fit in `openFileLimit` descriptors, at most `configured` and at least 1.
    static func connectionCap(configured: Int, openFileLimit: Int) -> Int {
        max(1, min(configured, (openFileLimit - reservedDescriptors) / descriptorsPerConnection))
    }

    /// RLIM_INFINITY and anything past Int.max as Int.max.
    private static func clamped(_ value: rlim_t) -> Int {
        value > rlim_t(Int.max) ? Int.max : Int(value)
    }
}
