import Logging
import PostgresNIO
import Synchronization
import Uploads

/// Hoist's PostgreSQL database: a bounded pool (`PostgresClient`), its schema migrations, and
/// the deadline every operation runs under. The record store and the rate limiter share it.
///
/// Run ``run()`` in a long-lived task (it is the pool's own loop) before ``migrate()`` and
/// any query; cancel it to close the pool.
///
/// ```swift
/// let database = PostgresUploadsDatabase(configuration: try PostgresConfiguration(url: url), logger: logger)
/// async let pool: Void = database.run()
/// try await database.migrate()
/// let records = PostgresUploadRecordStore(database: database)
/// ```
public final class PostgresUploadsDatabase: Sendable {
    /// The pool.
    let client: PostgresClient
    /// Where and how (timeouts, pool size).
    public let configuration: PostgresConfiguration
    let logger: Logger

    /// Creates the pool (no connection is made until ``run()`` runs and a query needs one).
    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        var client = PostgresClient.Configuration(host: configuration.host, port: configuration.port, username: configuration.username,
                                                  password: configuration.password, database: configuration.database,
                                                  tls: Self.tls(configuration.tls))
        client.options.maximumConnections = max(1, configuration.maximumConnections)
        client.options.connectTimeout = configuration.connectTimeout
        // The server gives up on a statement the caller has stopped waiting for.
        let milliseconds = configuration.queryTimeout.components.seconds * 1000 + configuration.queryTimeout.components.attoseconds / 1_000_000_000_000_000
        client.options.additionalStartupParameters = [("statement_timeout", String(max(1, milliseconds))),
                                                      ("application_name", "hoist")]
        self.client = PostgresClient(configuration: client, backgroundLogger: logger)
    }

    private static func tls(_ mode: PostgresConfiguration.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }

    /// The pool's loop: returns when the calling task is cancelled, closing every connection.
    public func run() async {
        await client.run()
    }

    // MARK: Queries

    /// Runs `query` and reads its rows with `read`, within ``PostgresConfiguration/queryTimeout``.
    /// - Throws: ``DatabaseUnavailableError`` when the database cannot be reached or answers too
    ///   late; PostgreSQL's own error (a constraint, a bug) otherwise.
    func query<T: Sendable>(_ query: PostgresQuery, _ read: @escaping @Sendable (PostgresRowSequence) async throws -> T) async throws -> T {
        try await withDeadline(configuration.queryTimeout) { [client, logger] in
            do {
                return try await read(try await client.query(query, logger: logger))
            } catch {
                throw Self.classify(error)
            }
        }
    }

    /// Runs `body` on one connection inside a transaction, within `timeout`.
    func transaction<T: Sendable>(timeout: Duration, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws -> T {
        try await withDeadline(timeout) { [client, logger] in
            do {
                return try await client.withTransaction(logger: logger) { connection in try await body(connection, logger) }
            } catch let error as PostgresTransactionError {
                throw Self.classify(error.closureError ?? error.beginError ?? error.commitError ?? error)
            } catch {
                throw Self.classify(error)
            }
        }
    }

    /// Sorts a failure: the database cannot be reached (→ ``DatabaseUnavailableError``), or it
    /// answered with an error of its own (kept, so it reads as a bug, not an outage).
    static func classify(_ error: any Error) -> any Error {
        switch error {
        case is DatabaseUnavailableError, is PostgresStoreError, is UploadRecordStoreError, is PostgresDecodingError:
            return error
        case let error as PSQLError:
            switch error.code {
            case .server:
                // SQLSTATE classes 08 (connection), 53 (insufficient resources), 57 (operator
                // intervention: shutdown, starting up, statement timeout): try again later.
                let state = error.serverInfo?[.sqlState] ?? ""
                if state == "57014" { return DatabaseUnavailableError(.timedOut, "PostgreSQL cancelled a statement that ran too long.") }
                if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57") {
                    return DatabaseUnavailableError(.unreachable, "PostgreSQL refused the work (SQLSTATE \(state)).")
                }
                return error
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .queryCancelled:
                return DatabaseUnavailableError(.unreachable, "The connection to PostgreSQL failed (\(error.code)).")
            case .poolClosed:
                return DatabaseUnavailableError(.shuttingDown, "The PostgreSQL pool is closed.")
            default:
                return error
            }
        default:
            // The pool's own errors (its circuit breaker, a shut-down pool) and NIO's connect errors.
            return DatabaseUnavailableError(.unreachable, "No connection to PostgreSQL (\(String(describing: type(of: error)))).")
        }
    }

    // MARK: Migrations

    /// One schema version: statements run in order in the migration's transaction.
    struct Migration: Sendable {
        let version: Int
        let name: String
        let statements: [String]
    }

    /// The key of the advisory lock migrations take ("Hoist" in ASCII): replicas starting at
    /// once migrate one after the other, and the later ones find nothing left to do.
    static let migrationLockKey: Int64 = 0x48_6F_69_73_74

    /// The newest schema version this binary knows.
    public static var latestSchemaVersion: Int { migrations.last?.version ?? 0 }

    /// The versioned schema, oldest first. Append only: a released migration never changes.
    static let migrations: [Migration] = [
        Migration(version: 1, name: "records and rate limit", statements: [
            """
            CREATE TABLE hoist_article (
                id text PRIMARY KEY,
                owner text NOT NULL,
                created_at double precision NOT NULL
            )
            """,
            """
            CREATE TABLE hoist_upload (
                key text PRIMARY KEY,
                article_id text NOT NULL REFERENCES hoist_article(id),
                owner text NOT NULL,
                content_type text NOT NULL,
                size bigint,
                checksum_sha256 text,
                issued_at double precision NOT NULL,
                expires_at double precision NOT NULL,
                status text NOT NULL DEFAULT 'pending',
                reason text,
                width integer,
                height integer,
                etag text,
                sequencer text,
                uploaded_at double precision,
                processed_at double precision,
                derived text
            )
            """,
            "CREATE INDEX hoist_upload_article ON hoist_upload (article_id, issued_at, key)",
            "CREATE INDEX hoist_upload_pending ON hoist_upload (expires_at) WHERE status = 'pending'",
            """
            CREATE TABLE hoist_rate_limit (
                subject text PRIMARY KEY,
                tokens double precision NOT NULL,
                updated_at double precision NOT NULL,
                allowed boolean NOT NULL
            )
            """,
        ]),
        Migration(version: 2, name: "event queue", statements: [
            """
            CREATE TABLE hoist_queue_message (
                id bigserial PRIMARY KEY,
                queue text NOT NULL,
                body text NOT NULL,
                sent_at double precision NOT NULL,
                visible_at double precision NOT NULL,
                receive_count integer NOT NULL DEFAULT 0,
                receipt text,
                dead_at double precision
            )
            """,
            "CREATE INDEX hoist_queue_ready ON hoist_queue_message (queue, visible_at, id) WHERE dead_at IS NULL",
        ]),
        Migration(version: 3, name: "multipart uploads", statements: [
            """
            CREATE TABLE hoist_multipart_upload (
                upload_id text PRIMARY KEY,
                key text NOT NULL,
                article_id text NOT NULL REFERENCES hoist_article(id),
                owner text NOT NULL,
                content_type text NOT NULL,
                size bigint NOT NULL,
                part_size bigint NOT NULL,
                checksum_sha256 boolean NOT NULL DEFAULT false,
                created_at double precision NOT NULL,
                expires_at double precision NOT NULL,
                status text NOT NULL DEFAULT 'active',
                etag text,
                finished_at double precision
            )
            """,
            "CREATE INDEX hoist_multipart_upload_active ON hoist_multipart_upload (expires_at) WHERE status = 'active'",
        ]),
        Migration(version: 4, name: "event receipts", statements: [
            // Each storage event the receiver took (bucket, key, version, sequencer): a push repeated
            // by the storage (a retry after a lost answer) is not queued twice.
            """
            CREATE TABLE hoist_event_seen (
                bucket text NOT NULL,
                key text NOT NULL,
                version text NOT NULL,
                sequencer text NOT NULL,
                seen_at double precision NOT NULL,
                PRIMARY KEY (bucket, key, version, sequencer)
            )
            """,
            "CREATE INDEX hoist_event_seen_age ON hoist_event_seen (seen_at)",
        ]),
        Migration(version: 5, name: "responsive variants", statements: [
            // The variants (JSON array: width, height, format, key), the placeholder data URL, the GPS flag.
            "ALTER TABLE hoist_upload ADD COLUMN variants text",
            "ALTER TABLE hoist_upload ADD COLUMN placeholder text",
            "ALTER TABLE hoist_upload ADD COLUMN location_removed boolean NOT NULL DEFAULT false",
        ]),
    ]

    /// Brings the schema to ``latestSchemaVersion``, in one transaction under an advisory lock
    /// (safe when N replicas start at once). Versions are rows of `hoist_schema_version`.
    /// - Throws: ``PostgresStoreError`` `schema_too_new` when a newer Hoist migrated the database
    ///   (this binary would misread it); ``DatabaseUnavailableError`` when it cannot be reached.
    /// - Returns: The versions applied now (empty when the schema was current).
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await migrate(to: Self.migrations)
    }

    /// ``migrate()`` with a given list of migrations (tests pretend to be an older binary).
    func migrate(to migrations: [Migration]) async throws -> [Int] {
        let latest = migrations.last?.version ?? 0
        let applied = try await transaction(timeout: configuration.migrationTimeout) { connection, logger -> [Int] in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS hoist_schema_version (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var current = 0
            for try await version in try await connection.query("SELECT coalesce(max(version), 0) FROM hoist_schema_version",
                                                                 logger: logger).decode(Int.self) {
                current = version
            }
            guard current <= latest else {
                throw PostgresStoreError(.schemaTooNew, """
                    The database's schema is version \(current), newer than this Hoist knows (\(latest)): \
                    a newer Hoist migrated it. Run that version (or newer), or restore a database of schema \(latest) or older.
                    """)
            }
            var applied: [Int] = []
            for migration in migrations where migration.version > current {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO hoist_schema_version (version, name) VALUES (\(migration.version), \(migration.name))",
                                           logger: logger)
                applied.append(migration.version)
            }
            return applied
        }
        if !applied.isEmpty {
            logger.info("database schema migrated", metadata: ["db.schema.versions": "\(applied)", "db.url": "\(configuration.redactedURL)"])
        }
        return applied
    }

    /// The schema version recorded in the database (0 when it was never migrated).
    public func schemaVersion() async throws -> Int {
        try await query("SELECT coalesce(max(version), 0) FROM hoist_schema_version") { rows in
            var version = 0
            for try await value in rows.decode(Int.self) { version = value }
            return version
        }
    }
}

/// Runs `operation`, answering within `timeout` whatever it does.
///
/// postgres-nio's queries do not observe task cancellation, and a connection to an unreachable
/// host can wait as long as TCP does: a caller waiting on them could hang. So the operation
/// runs in its own task; at the deadline the caller gets ``DatabaseUnavailableError`` (`timed_out`)
/// and the operation is cancelled (a request waiting for a connection gives up) and left to
/// end on its own (the server's `statement_timeout` ends a running statement).
func withDeadline<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let once = ResumeOnce<T>()
    return try await withCheckedThrowingContinuation { continuation in
        once.set(continuation)
        let timer = Task {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            once.resume(with: .failure(DatabaseUnavailableError(.timedOut, "PostgreSQL did not answer within \(timeout).")))
        }
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            timer.cancel()
            once.resume(with: result)
        }
        once.onTimeout(cancel: work)
    }
}

/// A continuation resumed by whichever comes first, the operation or its deadline.
private final class ResumeOnce<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var work: Task<Void, Never>?
        var timedOut = false
    }
    private let state = Mutex(State())

    func set(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLock { $0.continuation = continuation }
    }

    /// Keeps the operation's task, to cancel it if the deadline came first.
    func onTimeout(cancel work: Task<Void, Never>) {
        let cancelNow = state.withLock { state -> Bool in
            state.work = work
            return state.timedOut
        }
        if cancelNow { work.cancel() }
    }

    func resume(with result: Result<T, any Error>) {
        let (continuation, work) = state.withLock { state -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?) in
            let continuation = state.continuation
            state.continuation = nil
            if case .failure(let error) = result, error is DatabaseUnavailableError, continuation != nil { state.timedOut = true }
            return (continuation, state.timedOut ? state.work : nil)
        }
        continuation?.resume(with: result)
        work?.cancel()
    }
}
