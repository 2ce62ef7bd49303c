import Foundation
import GRDB
import Synchronization

/// An upload URL that was issued, and what became of it.
public struct UploadRecord: Sendable, Hashable, Codable {
    /// The object key, `articles/<articleId>/raw/<uuid>.<ext>`.
    public var key: String
    /// The article the upload belongs to.
    public var articleId: String
    /// The user who asked for the URL.
    public var owner: String
    /// The declared content type.
    public var contentType: String
    /// The declared size in bytes (`nil` for a body-less, Lambda-compatible request).
    public var size: Int64?
    /// The declared SHA-256 (base64), when given.
    public var checksumSHA256: String?
    /// When the URL was issued.
    public var issuedAt: Date
    /// When the URL expires.
    public var expiresAt: Date
    /// Where the upload stands (see ``UploadStatus``).
    public var status: UploadStatus
    /// Why the upload was rejected.
    public var reason: String? = nil
    /// The image's pixel size, once verified.
    public var width: Int? = nil
    public var height: Int? = nil
    /// The stored object's ETag (no quotes), once uploaded.
    public var etag: String? = nil
    /// The sequencer of the last storage event applied: older events are ignored.
    public var sequencer: String? = nil
    /// When storage reported the object, and when processing ended.
    public var uploadedAt: Date? = nil
    public var processedAt: Date? = nil
    /// Derived images by name (`thumbnail`, `web`) → object key: the names older clients know,
    /// pointing at two of ``variants`` (the smallest and the largest in the preferred format).
    public var derived: [String: String] = [:]
    /// The responsive copies (widths × formats), narrowest first.
    public var variants: [ImageVariant] = []
    /// A tiny blurred preview (at most 32 px on the long side) as a `data:image/webp;base64,…` URL.
    public var placeholder: String? = nil
    /// Whether the original's EXIF held a GPS position that the derived images do not carry.
    /// Only the fact is kept, never the position.
    public var locationRemoved: Bool = false

    /// A record as issued: the processing fields start empty.
    public init(key: String, articleId: String, owner: String, contentType: String, size: Int64?, checksumSHA256: String?,
                issuedAt: Date, expiresAt: Date, status: UploadStatus) {
        self.key = key
        self.articleId = articleId
        self.owner = owner
        self.contentType = contentType
        self.size = size
        self.checksumSHA256 = checksumSHA256
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.status = status
    }
}

/// Where an upload stands: `pending` until storage reports the object, then
/// `uploaded`, `verified` and `processed`, or `rejected` (see ``UploadRecord/reason``);
/// `expired` when no upload came before the URL expired. Stored and served as the raw value.
public enum UploadStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, uploaded, verified, processed, rejected, expired

    /// Whether the record has reached a final verdict (`processed` or `rejected`).
    public var isFinal: Bool { self == .processed || self == .rejected }
}

/// A record store's failure that is not the database's own.
public struct UploadRecordStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    /// Creates an error (for stores in other targets, such as PostgreSQL's).
    public init(description: String) {
        self.description = description
    }
}

/// Articles and upload records. SQLite here; PostgreSQL at scale implements the same protocol
/// (`PostgresUploadRecordStore`, in the `UploadsPostgres` target).
///
/// A store that cannot reach its database throws ``DatabaseUnavailableError``: the API answers
/// 503 with `Retry-After` instead of 500.
public protocol UploadRecordStore: Sendable {
    /// The owner of an article, or `nil` when it does not exist.
    func owner(ofArticle id: String) async throws -> String?
    /// Records an issued upload URL, creating its article for the record's owner if it
    /// does not exist, in one transaction.
    /// - Returns: `false`, writing nothing, when the article belongs to someone else.
    func record(_ record: UploadRecord) async throws -> Bool
    /// The uploads of an article, oldest first.
    func uploads(inArticle id: String) async throws -> [UploadRecord]
    /// The upload at `key`, or `nil`.
    func upload(key: String) async throws -> UploadRecord?
    /// Writes a record's processing state (status, reason, size, ETag, sequencer, times, derived images).
    func update(_ record: UploadRecord) async throws
    /// Marks `pending` records whose URL expired before `cutoff` as `expired`.
    /// - Returns: How many records changed.
    func expirePending(before cutoff: Date) async throws -> Int

    /// Records a multipart upload started on storage (its ``UploadRecord`` is written with
    /// ``record(_:)`` first, which claims the article).
    func recordMultipart(_ upload: MultipartUploadRecord) async throws
    /// The multipart upload with this S3 upload id, or `nil`.
    func multipartUpload(id: String) async throws -> MultipartUploadRecord?
    /// Ends a multipart upload: `completed` with the object's ETag, or `aborted`, at `date`.
    /// Only an `active` upload changes.
    /// - Returns: the record as it is now (`nil` when there is none).
    func finishMultipart(id: String, status: MultipartUploadRecord.Status, etag: String?, at date: Date) async throws -> MultipartUploadRecord?
    /// `active` multipart uploads that expired before `cutoff`, oldest first, at most `limit`.
    func expiredMultipartUploads(before cutoff: Date, limit: Int) async throws -> [MultipartUploadRecord]
}

/// The embedded record store: SQLite through GRDB (WAL).
public final class SQLiteUploadRecordStore: UploadRecordStore {
    private let database: DatabasePool

    struct PendingState {
        var pending: [(UploadRecord, CheckedContinuation<Bool, any Error>)] = []
        var flushing = false
    }
    /// Records waiting for the next group commit.
    private let queue = Mutex(PendingState())
    /// Article owners already read or written. An article never changes owner, so a
    /// known owner spares the write transaction two statements per URL (and a request
    /// for someone else's article is refused without a write).
    private let owners = OwnerCache()

    /// Opens (creating) the database at `path`.
    public init(path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // 16 MiB of page cache per connection (SQLite's default is 2 MiB): the key and
            // article indexes of a busy store stay in memory instead of being re-read.
            try db.execute(sql: "PRAGMA cache_size = -16384")
        }
        database = try DatabasePool(path: path, configuration: configuration)
        // An issued URL is an acknowledged write, so its record must survive a crash of the
        // machine, not only of the process: GRDB turns WAL on with `synchronous = NORMAL`
        // (no flush at commit); FULL flushes the WAL at each commit, that is once per group
        // of records (see `record`). Measured: the same throughput, and a shorter tail, as
        // the checkpoints then have less to write back.
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE article (
                    id TEXT PRIMARY KEY NOT NULL,
                    owner TEXT NOT NULL,
                    created_at DOUBLE NOT NULL
                );
                CREATE TABLE upload (
                    key TEXT PRIMARY KEY NOT NULL,
                    article_id TEXT NOT NULL REFERENCES article(id),
                    owner TEXT NOT NULL,
                    content_type TEXT NOT NULL,
                    size INTEGER,
                    checksum_sha256 TEXT,
                    issued_at DOUBLE NOT NULL,
                    expires_at DOUBLE NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending'
                );
                CREATE INDEX upload_article ON upload(article_id, issued_at);
                """)
        }
        migrator.registerMigration("processing") { db in
            try db.execute(sql: """
                ALTER TABLE upload ADD COLUMN reason TEXT;
                ALTER TABLE upload ADD COLUMN width INTEGER;
                ALTER TABLE upload ADD COLUMN height INTEGER;
                ALTER TABLE upload ADD COLUMN etag TEXT;
                ALTER TABLE upload ADD COLUMN sequencer TEXT;
                ALTER TABLE upload ADD COLUMN uploaded_at DOUBLE;
                ALTER TABLE upload ADD COLUMN processed_at DOUBLE;
                ALTER TABLE upload ADD COLUMN derived TEXT;
                CREATE INDEX upload_pending ON upload(expires_at) WHERE status = 'pending';
                """)
        }
        migrator.registerMigration("keyed") { db in
            // One B-tree fewer per issued URL, and one index fewer: the table is clustered on
            // the key (WITHOUT ROWID), and an article's uploads are the key range
            // `articles/<articleId>/…`, so the (article_id, issued_at) index is not needed.
            try db.execute(sql: """
                CREATE TABLE upload_keyed (
                    key TEXT PRIMARY KEY NOT NULL,
                    article_id TEXT NOT NULL REFERENCES article(id),
                    owner TEXT NOT NULL,
                    content_type TEXT NOT NULL,
                    size INTEGER,
                    checksum_sha256 TEXT,
                    issued_at DOUBLE NOT NULL,
                    expires_at DOUBLE NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending',
                    reason TEXT,
                    width INTEGER,
                    height INTEGER,
                    etag TEXT,
                    sequencer TEXT,
                    uploaded_at DOUBLE,
                    processed_at DOUBLE,
                    derived TEXT
                ) WITHOUT ROWID;
                INSERT INTO upload_keyed (\(Self.keyedColumns)) SELECT \(Self.keyedColumns) FROM upload;
                DROP TABLE upload;
                ALTER TABLE upload_keyed RENAME TO upload;
                CREATE INDEX upload_pending ON upload(expires_at) WHERE status = 'pending';
                """)
        }
        migrator.registerMigration("multipart") { db in
            try db.execute(sql: """
                CREATE TABLE multipart_upload (
                    upload_id TEXT PRIMARY KEY NOT NULL,
                    key TEXT NOT NULL,
                    article_id TEXT NOT NULL REFERENCES article(id),
                    owner TEXT NOT NULL,
                    content_type TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    part_size INTEGER NOT NULL,
                    checksum_sha256 INTEGER NOT NULL DEFAULT 0,
                    created_at DOUBLE NOT NULL,
                    expires_at DOUBLE NOT NULL,
                    status TEXT NOT NULL DEFAULT 'active',
                    etag TEXT,
                    finished_at DOUBLE
                );
                CREATE INDEX multipart_upload_active ON multipart_upload(expires_at) WHERE status = 'active';
                """)
        }
        migrator.registerMigration("variants") { db in
            // Responsive variants (JSON array of ImageVariant), the placeholder data URL, the GPS flag.
            try db.execute(sql: """
                ALTER TABLE upload ADD COLUMN variants TEXT;
                ALTER TABLE upload ADD COLUMN placeholder TEXT;
                ALTER TABLE upload ADD COLUMN location_removed INTEGER NOT NULL DEFAULT 0;
                """)
        }
        try migrator.migrate(database)
    }

    /// The names of the migrations applied, oldest first; for tests.
    func appliedMigrations() throws -> [String] {
        try database.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid") }
    }

    // GRDB's async reads and writes run on its own queues: no cooperative thread waits on SQLite.

    /// The writer connection's `PRAGMA synchronous` (2 is FULL); for tests.
    func writerSynchronousMode() throws -> Int? {
        try database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
    }

    public func owner(ofArticle id: String) async throws -> String? {
        if let known = owners[id] { return known }
        let owner = try await database.read { db in try String.fetchOne(db, sql: "SELECT owner FROM article WHERE id = ?", arguments: [id]) }
        if let owner { owners[id] = owner }
        return owner
    }

    public func record(_ record: UploadRecord) async throws -> Bool {
        // An article's uploads are found by key range (see `uploads(inArticle:)`).
        guard record.key.hasPrefix("articles/\(record.articleId)/") else {
            throw DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "An upload key must lie under articles/<articleId>/.")
        }
        if let known = owners[record.articleId], known != record.owner { return false }
        return try await withCheckedThrowingContinuation { continuation in
            let startFlush = queue.withLock { state -> Bool in
                state.pending.append((record, continuation))
                guard !state.flushing else { return false }
                state.flushing = true
                return true
            }
            if startFlush {
                database.asyncWriteWithoutTransaction { db in self.flushPending(db) }
            }
        }
    }

    /// Group commit, on the database's writer queue: the records of all requests
    /// waiting are written in one transaction, then each request is answered; again
    /// until none wait. Under load many URLs share one SQLite commit; alone, a request
    /// waits for its own. Running the loop on the writer itself spares each group a
    /// task and a hop back to the cooperative pool before the requests are answered.
    private func flushPending(_ db: Database) {
        while true {
            let batch = queue.withLock { state -> [(UploadRecord, CheckedContinuation<Bool, any Error>)] in
                let batch = state.pending
                state.pending.removeAll(keepingCapacity: true)
                if batch.isEmpty { state.flushing = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            // Owners known before the transaction: their articles need no claim.
            let records = batch.map { ($0.0, owners[$0.0.articleId] == $0.0.owner) }
            var results: [Result<Bool, any Error>] = []
            do {
                try db.inTransaction {
                    results = records.map { record, owned in Result { try Self.write(record, articleOwned: owned, in: db) } }
                    return .commit
                }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
                continue
            }
            for ((record, _), result) in zip(records, results) {
                if case .success(true) = result { owners[record.articleId] = record.owner }
            }
            for ((_, continuation), result) in zip(batch, results) { continuation.resume(with: result) }
        }
    }

    /// Claims the article (if new) and inserts the upload, unless the article is someone else's.
    /// `articleOwned`: the caller already knows the article is the record owner's.
    private static func write(_ record: UploadRecord, articleOwned: Bool, in db: Database) throws -> Bool {
        // Cached statements: parsed once per connection, not once per URL.
        if !articleOwned {
            try db.cachedStatement(sql: "INSERT INTO article (id, owner, created_at) VALUES (?, ?, ?) ON CONFLICT(id) DO NOTHING")
                .execute(arguments: [record.articleId, record.owner, record.issuedAt.timeIntervalSince1970])
            let owner = try String.fetchOne(db.cachedStatement(sql: "SELECT owner FROM article WHERE id = ?"), arguments: [record.articleId])
            guard owner == record.owner else { return false }
        }
        try db.cachedStatement(sql: """
            INSERT INTO upload (key, article_id, owner, content_type, size, checksum_sha256, issued_at, expires_at, status)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [record.key, record.articleId, record.owner, record.contentType, record.size, record.checksumSHA256,
                                     record.issuedAt.timeIntervalSince1970, record.expiresAt.timeIntervalSince1970, record.status.rawValue])
        return true
    }

    /// The columns of the `keyed` migration's table (a released migration never changes).
    static let keyedColumns = """
        key, article_id, owner, content_type, size, checksum_sha256, issued_at, expires_at, status,
        reason, width, height, etag, sequencer, uploaded_at, processed_at, derived
        """

    static let columns = keyedColumns + ", variants, placeholder, location_removed"

    static func decode(_ row: Row) throws -> UploadRecord {
        let text: String = row["status"]
        guard let status = UploadStatus(rawValue: text) else {
            throw UploadRecordStoreError(description: "The upload \(row["key"] as String) has an unknown status \(text).")
        }
        var record = UploadRecord(key: row["key"], articleId: row["article_id"], owner: row["owner"], contentType: row["content_type"],
                                  size: row["size"], checksumSHA256: row["checksum_sha256"],
                                  issuedAt: Date(timeIntervalSince1970: row["issued_at"]),
                                  expiresAt: Date(timeIntervalSince1970: row["expires_at"]), status: status)
        record.reason = row["reason"]
        record.width = row["width"]
        record.height = row["height"]
        record.etag = row["etag"]
        record.sequencer = row["sequencer"]
        record.uploadedAt = (row["uploaded_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        record.processedAt = (row["processed_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        if let json: String = row["derived"],
           let derived = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) {
            record.derived = derived
        }
        record.variants = UploadRecord.decodeVariants(row["variants"])
        record.placeholder = row["placeholder"]
        record.locationRemoved = (row["location_removed"] as Int?) == 1
        return record
    }

    public func uploads(inArticle id: String) async throws -> [UploadRecord] {
        try await database.read { db in
            // Upload keys are `articles/<articleId>/…`: the article's rows are one key range ('0' follows '/').
            try Row.fetchAll(db, sql: """
                SELECT \(Self.columns) FROM upload WHERE key > ? AND key < ? AND article_id = ? ORDER BY issued_at, key
                """, arguments: ["articles/\(id)/", "articles/\(id)0", id]).map(Self.decode)
        }
    }

    public func upload(key: String) async throws -> UploadRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.columns) FROM upload WHERE key = ?", arguments: [key]).map(Self.decode)
        }
    }

    public func update(_ record: UploadRecord) async throws {
        let derived = record.derived.isEmpty ? nil : String(decoding: try JSONEncoder().encode(record.derived), as: UTF8.self)
        let variants = try record.encodedVariants()
        try await database.write { db in
            try db.execute(sql: """
                UPDATE upload SET status = ?, reason = ?, width = ?, height = ?, etag = ?, sequencer = ?,
                    uploaded_at = ?, processed_at = ?, derived = ?, variants = ?, placeholder = ?, location_removed = ?
                WHERE key = ?
                """, arguments: [record.status.rawValue, record.reason, record.width, record.height, record.etag, record.sequencer,
                                 record.uploadedAt?.timeIntervalSince1970, record.processedAt?.timeIntervalSince1970, derived,
                                 variants, record.placeholder, record.locationRemoved ? 1 : 0, record.key])
        }
    }

    public func expirePending(before cutoff: Date) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "UPDATE upload SET status = 'expired' WHERE status = 'pending' AND expires_at < ?",
                           arguments: [cutoff.timeIntervalSince1970])
            return db.changesCount
        }
    }

    // MARK: Multipart uploads

    static let multipartColumns = """
        upload_id, key, article_id, owner, content_type, size, part_size, checksum_sha256, created_at, expires_at,
        status, etag, finished_at
        """

    static func decodeMultipart(_ row: Row) throws -> MultipartUploadRecord {
        let text: String = row["status"]
        guard let status = MultipartUploadRecord.Status(rawValue: text) else {
            throw UploadRecordStoreError(description: "The multipart upload \(row["upload_id"] as String) has an unknown status \(text).")
        }
        var record = MultipartUploadRecord(uploadId: row["upload_id"], key: row["key"], articleId: row["article_id"], owner: row["owner"],
                                           contentType: row["content_type"], size: row["size"], partSize: row["part_size"],
                                           checksumSHA256: (row["checksum_sha256"] as Int) != 0,
                                           createdAt: Date(timeIntervalSince1970: row["created_at"]),
                                           expiresAt: Date(timeIntervalSince1970: row["expires_at"]), status: status)
        record.etag = row["etag"]
        record.finishedAt = (row["finished_at"] as Double?).map(Date.init(timeIntervalSince1970:))
        return record
    }

    public func recordMultipart(_ upload: MultipartUploadRecord) async throws {
        try await database.write { db in
            try db.execute(sql: """
                INSERT INTO multipart_upload (\(Self.multipartColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [upload.uploadId, upload.key, upload.articleId, upload.owner, upload.contentType, upload.size,
                                 upload.partSize, upload.checksumSHA256 ? 1 : 0, upload.createdAt.timeIntervalSince1970,
                                 upload.expiresAt.timeIntervalSince1970, upload.status.rawValue, upload.etag,
                                 upload.finishedAt?.timeIntervalSince1970])
        }
    }

    public func multipartUpload(id: String) async throws -> MultipartUploadRecord? {
        try await database.read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.multipartColumns) FROM multipart_upload WHERE upload_id = ?",
                             arguments: [id]).map(Self.decodeMultipart)
        }
    }

    public func finishMultipart(id: String, status: MultipartUploadRecord.Status, etag: String?,
                                at date: Date) async throws -> MultipartUploadRecord? {
        try await database.write { db in
            try db.execute(sql: """
                UPDATE multipart_upload SET status = ?, etag = ?, finished_at = ? WHERE upload_id = ? AND status = 'active'
                """, arguments: [status.rawValue, etag, date.timeIntervalSince1970, id])
            return try Row.fetchOne(db, sql: "SELECT \(Self.multipartColumns) FROM multipart_upload WHERE upload_id = ?",
                                    arguments: [id]).map(Self.decodeMultipart)
        }
    }

    public func expiredMultipartUploads(before cutoff: Date, limit: Int) async throws -> [MultipartUploadRecord] {
        try await database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT \(Self.multipartColumns) FROM multipart_upload WHERE status = 'active' AND expires_at < ?
                ORDER BY expires_at LIMIT ?
                """, arguments: [cutoff.timeIntervalSince1970, max(0, limit)]).map(Self.decodeMultipart)
        }
    }
}

/// Article id → owner, bounded: when full it starts again empty (the database stays the truth).
/// An article never changes owner, so any replica may cache what it read or wrote.
package final class OwnerCache: Sendable {
    private let entries = Mutex<[String: String]>([:])
    static let capacity = 65_536

    /// Creates an empty cache.
    package init() {}

    /// The known owner of `article`, or `nil`.
    package subscript(article: String) -> String? {
        get { entries.withLock { $0[article] } }
        set {
            entries.withLock { entries in
                if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
                entries[article] = newValue
            }
        }
    }
}
