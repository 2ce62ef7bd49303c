/// A PostgreSQL setup failure with a stable code: a bad URL, or a schema this binary cannot use.
public struct PostgresStoreError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable code.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String {
            case invalidURL = "invalid_url", schemaTooNew = "schema_too_new", migrationFailed = "migration_failed"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// `HOIST_DATABASE_URL` (or `--database`) cannot be read.
        public static let invalidURL = Code(.invalidURL)
        /// The database was migrated by a newer Hoist: this binary refuses to use it.
        public static let schemaTooNew = Code(.schemaTooNew)
        /// A migration failed (its transaction was rolled back).
        public static let migrationFailed = Code(.migrationFailed)

        public var description: String { base.rawValue }
    }

    /// What kind of failure.
    public let code: Code
    /// What went wrong, with no password in it.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
