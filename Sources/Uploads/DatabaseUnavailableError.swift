/// The records' database cannot be reached now (down, unreachable, too slow to answer, shutting
/// down): the same request may succeed later. The API answers it with 503 and `Retry-After`.
public struct DatabaseUnavailableError: Error, Sendable, CustomStringConvertible {
    /// Why the database is unavailable: a stable, machine-readable code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String {
            case unreachable, timedOut = "timed_out", shuttingDown = "shutting_down"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// No connection could be made, or the connection was lost.
        public static let unreachable = Code(.unreachable)
        /// The database did not answer within the configured time.
        public static let timedOut = Code(.timedOut)
        /// The database (or this process's pool) is shutting down.
        public static let shuttingDown = Code(.shuttingDown)

        public var description: String { base.rawValue }
    }

    /// Why.
    public let code: Code
    /// What happened, without secrets (no URLs, no passwords, no query arguments).
    public let detail: String
    /// The seconds a client should wait before trying again.
    public let retryAfter: Int

    /// Creates an error.
    public init(_ code: Code, _ detail: String, retryAfter: Int = 2) {
        self.code = code
        self.detail = detail
        self.retryAfter = retryAfter
    }

    public var description: String { "database unavailable (\(code)): \(detail)" }
}
