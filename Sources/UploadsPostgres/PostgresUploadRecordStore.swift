import Foundation
import PostgresNIO
import Uploads

/// Upload records in PostgreSQL, for N API replicas and M workers: the same semantics as
/// ``SQLiteUploadRecordStore``. A URL's record and its article's claim are one statement (one
/// round trip, one transaction), committed before the URL is returned; the first user to claim
/// an article owns it forever, whichever replica each request reaches; every read goes to the
/// same primary, so a listing reads its own writes.
///
/// Cannot reach the database, or no answer within the configured time: ``DatabaseUnavailableError``.
public final class PostgresUploadRecordStore: UploadRecordStore {
    /// The database (the worker's PostgreSQL queue shares its pool).
    public let database: PostgresUploadsDatabase
    /// Article owners already read or written: an article never changes owner, so a known owner
    /// spares the claim (and another user's article is refused without a round trip).
    private let owners = OwnerCache()

    /// A store on `database` (already migrated with ``PostgresUploadsDatabase/migrate()``).
    public init(database: PostgresUploadsDatabase) {
        self.database = database
    }

    public func owner(ofArticle id: String) async throws -> String? {
        if let known = owners[id] { return known }
        let owner = try await database.query("SELECT owner FROM hoist_article WHERE id = \(id)") { rows in
            var owner: String?
            for try await value in rows.decode(String.self) { owner = value }
            return owner
        }
        if let owner { owners[id] = owner }
        return owner
    }

    public func record(_ record: UploadRecord) async throws -> Bool {
        // An article's uploads live under its key prefix, as in the SQLite store.
        guard record.key.hasPrefix("articles/\(record.articleId)/") else {
            throw UploadRecordStoreError(description: "An upload key must lie under articles/<articleId>/.")
        }
        if let known = owners[record.articleId] {
            guard known == record.owner else { return false }
            try await database.query(Self.insert(record)) { rows in for try await _ in rows {} }
            return true
        }
        // A claim that lost a race to a transaction that committed after this statement's
        // snapshot sees no owner at all (its insert did nothing, its read saw nothing): again,
        // with a new snapshot that sees the winner.
        for _ in 0..<3 {
            let (owner, inserted) = try await database.query(Self.claimAndInsert(record)) { rows in
                var answer: (String?, Int) = (nil, 0)
                for try await (owner, inserted) in rows.decode((String?, Int).self) { answer = (owner, inserted) }
                return answer
            }
            guard let owner else { continue }
            owners[record.articleId] = owner
            return owner == record.owner && inserted == 1
        }
        throw UploadRecordStoreError(description: "The article \(record.articleId) could not be claimed or read.")
    }

    /// The upload alone, for an article known to be the owner's.
    static func insert(_ r: UploadRecord) -> PostgresQuery {
        """
        INSERT INTO hoist_upload (key, article_id, owner, content_type, size, checksum_sha256, issued_at, expires_at, status)
        VALUES (\(r.key), \(r.articleId), \(r.owner), \(r.contentType), \(r.size), \(r.checksumSHA256),
                \(r.issuedAt.timeIntervalSince1970), \(r.expiresAt.timeIntervalSince1970), \(r.status.rawValue))
        """
    }

    /// One statement: claims the article if it is new, inserts the upload if the article is the
    /// record owner's, and answers (the article's owner, uploads inserted). Both or neither commit.
    /// (The casts type the arguments of `INSERT … SELECT`, where a NULL argument would read as text.)
    static func claimAndInsert(_ r: UploadRecord) -> PostgresQuery {
        """
        WITH claimed AS (
            INSERT INTO hoist_article (id, owner, created_at) VALUES (\(r.articleId), \(r.owner), \(r.issuedAt.timeIntervalSince1970))
            ON CONFLICT (id) DO NOTHING
            RETURNING owner
        ), article AS (
            SELECT owner FROM claimed
            UNION ALL
            SELECT owner FROM hoist_article WHERE id = \(r.articleId) AND NOT EXISTS (SELECT 1 FROM claimed)
        ), inserted AS (
            INSERT INTO hoist_upload (key, article_id, owner, content_type, size, checksum_sha256, issued_at, expires_at, status)
            SELECT \(r.key)::text, \(r.articleId)::text, article.owner, \(r.contentType)::text, \(r.size)::bigint,
                   \(r.checksumSHA256)::text, \(r.issuedAt.timeIntervalSince1970)::float8, \(r.expiresAt.timeIntervalSince1970)::float8,
                   \(r.status.rawValue)::text
            FROM article WHERE article.owner = \(r.owner)
            RETURNING 1
        )
        SELECT (SELECT owner FROM article LIMIT 1), (SELECT count(*) FROM inserted)::bigint
        """
    }

    static let columns = """
        key, article_id, owner, content_type, size, checksum_sha256, issued_at, expires_at, status,
        reason, width, height, etag, sequencer, uploaded_at, processed_at, derived, variants, placeholder, location_removed
        """

    /// A row of ``columns`` as a record.
    static func decode(_ row: PostgresRow) throws -> UploadRecord {
        let r = row.makeRandomAccess()
        let key = try r[0].decode(String.self)
        let text = try r[8].decode(String.self)
        guard let status = UploadStatus(rawValue: text) else {
            throw UploadRecordStoreError(description: "The upload \(key) has an unknown status \(text).")
        }
        var record = UploadRecord(key: key, articleId: try r[1].decode(String.self), owner: try r[2].decode(String.self),
                                  contentType: try r[3].decode(String.self), size: try r[4].decode(Int64?.self),
                                  checksumSHA256: try r[5].decode(String?.self),
                                  issuedAt: Date(timeIntervalSince1970: try r[6].decode(Double.self)),
                                  expiresAt: Date(timeIntervalSince1970: try r[7].decode(Double.self)), status: status)
        record.reason = try r[9].decode(String?.self)
        record.width = try r[10].decode(Int?.self)
        record.height = try r[11].decode(Int?.self)
        record.etag = try r[12].decode(String?.self)
        record.sequencer = try r[13].decode(String?.self)
        record.uploadedAt = try r[14].decode(Double?.self).map(Date.init(timeIntervalSince1970:))
        record.processedAt = try r[15].decode(Double?.self).map(Date.init(timeIntervalSince1970:))
        if let json = try r[16].decode(String?.self),
           let derived = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) {
            record.derived = derived
        }
        record.variants = UploadRecord.decodeVariants(try r[17].decode(String?.self))
        record.placeholder = try r[18].decode(String?.self)
        record.locationRemoved = try r[19].decode(Bool.self)
        return record
    }

    public func uploads(inArticle id: String) async throws -> [UploadRecord] {
        try await database.query("""
            SELECT \(unescaped: Self.columns) FROM hoist_upload WHERE article_id = \(id) ORDER BY issued_at, key
            """) { rows in
            var records: [UploadRecord] = []
            for try await row in rows { records.append(try Self.decode(row)) }
            return records
        }
    }

    public func upload(key: String) async throws -> UploadRecord? {
        try await database.query("SELECT \(unescaped: Self.columns) FROM hoist_upload WHERE key = \(key)") { rows in
            var record: UploadRecord?
            for try await row in rows { record = try Self.decode(row) }
            return record
        }
    }

    public func update(_ record: UploadRecord) async throws {
        let derived = record.derived.isEmpty ? nil : String(decoding: try JSONEncoder().encode(record.derived), as: UTF8.self)
        let variants = try record.encodedVariants()
        try await database.query("""
            UPDATE hoist_upload SET status = \(record.status.rawValue), reason = \(record.reason), width = \(record.width),
                height = \(record.height), etag = \(record.etag), sequencer = \(record.sequencer),
                uploaded_at = \(record.uploadedAt?.timeIntervalSince1970), processed_at = \(record.processedAt?.timeIntervalSince1970),
                derived = \(derived), variants = \(variants), placeholder = \(record.placeholder),
                location_removed = \(record.locationRemoved)
            WHERE key = \(record.key)
            """) { rows in for try await _ in rows {} }
    }

    public func expirePending(before cutoff: Date) async throws -> Int {
        try await database.query("""
            WITH expired AS (
                UPDATE hoist_upload SET status = 'expired' WHERE status = 'pending' AND expires_at < \(cutoff.timeIntervalSince1970)
                RETURNING 1
            )
            SELECT count(*)::bigint FROM expired
            """) { rows in
            var count = 0
            for try await value in rows.decode(Int.self) { count = value }
            return count
        }
    }

    // MARK: Multipart uploads

    static let multipartColumns = """
        upload_id, key, article_id, owner, content_type, size, part_size, checksum_sha256, created_at, expires_at,
        status, etag, finished_at
        """

    /// A row of ``multipartColumns`` as a record.
    static func decodeMultipart(_ row: PostgresRow) throws -> MultipartUploadRecord {
        let r = row.makeRandomAccess()
        let uploadId = try r[0].decode(String.self)
        let text = try r[10].decode(String.self)
        guard let status = MultipartUploadRecord.Status(rawValue: text) else {
            throw UploadRecordStoreError(description: "The multipart upload \(uploadId) has an unknown status \(text).")
        }
        var record = MultipartUploadRecord(uploadId: uploadId, key: try r[1].decode(String.self), articleId: try r[2].decode(String.self),
                                           owner: try r[3].decode(String.self), contentType: try r[4].decode(String.self),
                                           size: try r[5].decode(Int64.self), partSize: try r[6].decode(Int64.self),
                                           checksumSHA256: try r[7].decode(Bool.self),
                                           createdAt: Date(timeIntervalSince1970: try r[8].decode(Double.self)),
                                           expiresAt: Date(timeIntervalSince1970: try r[9].decode(Double.self)), status: status)
        record.etag = try r[11].decode(String?.self)
        record.finishedAt = try r[12].decode(Double?.self).map(Date.init(timeIntervalSince1970:))
        return record
    }

    public func recordMultipart(_ u: MultipartUploadRecord) async throws {
        try await database.query("""
            INSERT INTO hoist_multipart_upload (\(unescaped: Self.multipartColumns))
            VALUES (\(u.uploadId), \(u.key), \(u.articleId), \(u.owner), \(u.contentType), \(u.size), \(u.partSize), \(u.checksumSHA256),
                    \(u.createdAt.timeIntervalSince1970), \(u.expiresAt.timeIntervalSince1970), \(u.status.rawValue), \(u.etag),
                    \(u.finishedAt?.timeIntervalSince1970))
            """) { rows in for try await _ in rows {} }
    }

    public func multipartUpload(id: String) async throws -> MultipartUploadRecord? {
        try await database.query("""
            SELECT \(unescaped: Self.multipartColumns) FROM hoist_multipart_upload WHERE upload_id = \(id)
            """) { rows in
            var record: MultipartUploadRecord?
            for try await row in rows { record = try Self.decodeMultipart(row) }
            return record
        }
    }

    public func finishMultipart(id: String, status: MultipartUploadRecord.Status, etag: String?,
                                at date: Date) async throws -> MultipartUploadRecord? {
        // One statement: the update (of an active upload only), then the row as it is.
        try await database.query("""
            WITH updated AS (
                UPDATE hoist_multipart_upload SET status = \(status.rawValue), etag = \(etag), finished_at = \(date.timeIntervalSince1970)
                WHERE upload_id = \(id) AND status = 'active'
                RETURNING \(unescaped: Self.multipartColumns)
            )
            SELECT \(unescaped: Self.multipartColumns) FROM updated
            UNION ALL
            SELECT \(unescaped: Self.multipartColumns) FROM hoist_multipart_upload
            WHERE upload_id = \(id) AND NOT EXISTS (SELECT 1 FROM updated)
            """) { rows in
            var record: MultipartUploadRecord?
            for try await row in rows { record = try Self.decodeMultipart(row) }
            return record
        }
    }

    public func expiredMultipartUploads(before cutoff: Date, limit: Int) async throws -> [MultipartUploadRecord] {
        try await database.query("""
            SELECT \(unescaped: Self.multipartColumns) FROM hoist_multipart_upload
            WHERE status = 'active' AND expires_at < \(cutoff.timeIntervalSince1970)
            ORDER BY expires_at LIMIT \(max(0, limit))
            """) { rows in
            var records: [MultipartUploadRecord] = []
            for try await row in rows { records.append(try Self.decodeMultipart(row)) }
            return records
        }
    }
}
