import Foundation
import GRDB
import Testing
@testable import Uploads

@Suite("Upload records")
struct SQLiteUploadRecordStoreTests {
    static func store() throws -> SQLiteUploadRecordStore {
        try SQLiteUploadRecordStore(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("hoist-records-\(UUID().uuidString)/uploads.sqlite").path)
    }

    static func record(_ article: String, _ owner: String, _ n: Int) -> UploadRecord {
        UploadRecord(key: "articles/\(article)/raw/\(n).png", articleId: article, owner: owner, contentType: "image/png",
                     size: Int64(n + 1), checksumSHA256: nil, issuedAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(n)),
                     expiresAt: Date(timeIntervalSince1970: 1_800_000_900), status: .pending)
    }

    @Test("concurrent records share group commits; every one is written, in one owner's article")
    func concurrent() async throws {
        let store = try Self.store()
        let article = UUID().uuidString.lowercased()
        let results = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for n in 0..<200 {
                let owner = n % 2 == 0 ? "alice" : "bob"
                group.addTask { (owner, try await store.record(Self.record(article, owner, n))) }
            }
            return try await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
        }
        let winners = Set(results.filter(\.1).map(\.0))
        #expect(winners.count == 1, "exactly one user owns the article")
        let owner = try #require(winners.first)
        #expect(try await store.owner(ofArticle: article) == owner)
        let uploads = try await store.uploads(inArticle: article)
        #expect(uploads.count == 100)
        #expect(uploads.allSatisfy { $0.owner == owner })
        #expect(uploads.map(\.issuedAt) == uploads.map(\.issuedAt).sorted())
    }

    @Test("records are flushed at each commit (synchronous = FULL on the writer), not left to the next checkpoint")
    func durable() throws {
        #expect(try Self.store().writerSynchronousMode() == 2)
    }

    @Test("a record round-trips")
    func roundTrip() async throws {
        let store = try Self.store()
        let r = Self.record(UUID().uuidString.lowercased(), "carol", 7)
        #expect(try await store.record(r))
        #expect(try await store.uploads(inArticle: r.articleId) == [r])
        #expect(try await store.owner(ofArticle: "missing") == nil)
    }
}

@Suite("Upload records: layout and owners")
struct SQLiteUploadRecordLayoutTests {
    @Test("an article's uploads are its key range only, oldest first; a key outside its article is refused")
    func keyRange() async throws {
        let store = try SQLiteUploadRecordStoreTests.store()
        // Two articles whose ids share a prefix, so a sloppy range would mix them.
        let first = "3f1c0d5e-8b7a-4c2d-9e1f-0a1b2c3d4e5f", second = "3f1c0d5e-8b7a-4c2d-9e1f-0a1b2c3d4e50"
        for n in [5, 1, 3] { #expect(try await store.record(SQLiteUploadRecordStoreTests.record(first, "alice", n))) }
        for n in [2, 4] { #expect(try await store.record(SQLiteUploadRecordStoreTests.record(second, "alice", n))) }
        #expect(try await store.uploads(inArticle: first).map(\.key) == [1, 3, 5].map { "articles/\(first)/raw/\($0).png" })
        #expect(try await store.uploads(inArticle: second).map(\.key) == [2, 4].map { "articles/\(second)/raw/\($0).png" })
        var stray = SQLiteUploadRecordStoreTests.record(first, "alice", 9)
        stray.key = "articles/\(second)/raw/9.png"
        await #expect(throws: (any Error).self) { try await store.record(stray) }
        #expect(try await store.uploads(inArticle: second).count == 2)
    }

    @Test("a known owner is remembered: another user's article is refused, also after a restart")
    func owners() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-records-\(UUID().uuidString)/uploads.sqlite").path
        let article = UUID().uuidString.lowercased()
        do {
            let store = try SQLiteUploadRecordStore(path: path)
            #expect(try await store.record(SQLiteUploadRecordStoreTests.record(article, "alice", 1)))
            #expect(try await store.record(SQLiteUploadRecordStoreTests.record(article, "bob", 2)) == false)
            #expect(try await store.record(SQLiteUploadRecordStoreTests.record(article, "alice", 3)))
        }
        let reopened = try SQLiteUploadRecordStore(path: path)
        #expect(try await reopened.record(SQLiteUploadRecordStoreTests.record(article, "bob", 4)) == false)
        #expect(try await reopened.owner(ofArticle: article) == "alice")
        #expect(try await reopened.uploads(inArticle: article).map(\.owner) == ["alice", "alice"])
    }

    @Test("records written under the first schema survive the move to the key-clustered table")
    func migration() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-records-\(UUID().uuidString)/uploads.sqlite").path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let article = "0b5d6f1e-2a3c-4d5e-8f90-1a2b3c4d5e6f"
        do {
            // The schema as the migrations "v1" and "processing" left it, with rows in it.
            let old = try DatabaseQueue(path: path)
            try await old.write { db in
                try db.execute(sql: """
                    CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                    INSERT INTO grdb_migrations VALUES ('v1'), ('processing');
                    CREATE TABLE article (id TEXT PRIMARY KEY NOT NULL, owner TEXT NOT NULL, created_at DOUBLE NOT NULL);
                    CREATE TABLE upload (key TEXT PRIMARY KEY NOT NULL, article_id TEXT NOT NULL REFERENCES article(id),
                        owner TEXT NOT NULL, content_type TEXT NOT NULL, size INTEGER, checksum_sha256 TEXT,
                        issued_at DOUBLE NOT NULL, expires_at DOUBLE NOT NULL, status TEXT NOT NULL DEFAULT 'pending');
                    CREATE INDEX upload_article ON upload(article_id, issued_at);
                    ALTER TABLE upload ADD COLUMN reason TEXT;
                    ALTER TABLE upload ADD COLUMN width INTEGER;
                    ALTER TABLE upload ADD COLUMN height INTEGER;
                    ALTER TABLE upload ADD COLUMN etag TEXT;
                    ALTER TABLE upload ADD COLUMN sequencer TEXT;
                    ALTER TABLE upload ADD COLUMN uploaded_at DOUBLE;
                    ALTER TABLE upload ADD COLUMN processed_at DOUBLE;
                    ALTER TABLE upload ADD COLUMN derived TEXT;
                    CREATE INDEX upload_pending ON upload(expires_at) WHERE status = 'pending';
                    INSERT INTO article VALUES ('\(article)', 'alice', 1800000000);
                    INSERT INTO upload VALUES ('articles/\(article)/raw/b.png', '\(article)', 'alice', 'image/png', 10, NULL,
                        1800000002, 1800000900, 'processed', NULL, 4, 3, 'abc', '0000000000000001', 1800000003, 1800000004,
                        '{"thumbnail":"articles/\(article)/processed/b/thumb.webp"}');
                    INSERT INTO upload VALUES ('articles/\(article)/raw/a.png', '\(article)', 'alice', 'image/png', 20, NULL,
                        1800000001, 1700000000, 'pending', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                    """)
            }
        }
        let store = try SQLiteUploadRecordStore(path: path)
        let uploads = try await store.uploads(inArticle: article)
        #expect(uploads.map(\.key) == ["articles/\(article)/raw/a.png", "articles/\(article)/raw/b.png"])
        let processed = try #require(uploads.last)
        #expect(processed.status == .processed && processed.width == 4 && processed.height == 3 && processed.etag == "abc")
        #expect(processed.derived == ["thumbnail": "articles/\(article)/processed/b/thumb.webp"])
        #expect(try await store.owner(ofArticle: article) == "alice")
        // The pending index came back: the expired pending record is found and marked.
        #expect(try await store.expirePending(before: Date(timeIntervalSince1970: 1_750_000_000)) == 1)
        #expect(try await store.upload(key: "articles/\(article)/raw/a.png")?.status == .expired)
    }
}

@Suite("Upload records: multipart uploads and their migration")
struct SQLiteMultipartRecordTests {
    static func multipart(_ id: String, article: String, owner: String = "alice", expiresAt: Double = 1_800_086_400) -> MultipartUploadRecord {
        MultipartUploadRecord(uploadId: id, key: "articles/\(article)/raw/\(id).jpg", articleId: article, owner: owner,
                              contentType: "image/jpeg", size: 20 << 20, partSize: 8 << 20, checksumSHA256: id.hasSuffix("s"),
                              createdAt: Date(timeIntervalSince1970: 1_800_000_000), expiresAt: Date(timeIntervalSince1970: expiresAt))
    }

    @Test("a database made before multipart uploads gets their table, and keeps its records")
    func migration() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-records-\(UUID().uuidString)/uploads.sqlite").path
        let article = UUID().uuidString.lowercased()
        let old = SQLiteUploadRecordStoreTests.record(article, "alice", 1)
        do {
            // The schema before multipart uploads: every migration but "multipart" and "variants".
            let store = try SQLiteUploadRecordStore(path: path)
            #expect(try await store.record(old))
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: """
                    DROP TABLE multipart_upload; DELETE FROM grdb_migrations WHERE identifier IN ('multipart', 'variants');
                    ALTER TABLE upload DROP COLUMN variants; ALTER TABLE upload DROP COLUMN placeholder;
                    ALTER TABLE upload DROP COLUMN location_removed;
                    """)
            }
            try queue.close()
        }
        let store = try SQLiteUploadRecordStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "processing", "keyed", "multipart", "variants"])
        #expect(try await store.upload(key: old.key) == old)
        let upload = Self.multipart("up-1", article: article)
        try await store.recordMultipart(upload)
        #expect(try await store.multipartUpload(id: "up-1") == upload)
    }
}

@Suite("Upload records: responsive variants and their migration")
struct SQLiteVariantRecordTests {
    @Test("a database made before variants gets their columns; old records read with none, new ones round-trip")
    func migration() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-records-\(UUID().uuidString)/uploads.sqlite").path
        let article = UUID().uuidString.lowercased()
        var old = SQLiteUploadRecordStoreTests.record(article, "alice", 1)
        do {
            // The previous schema: every migration but "variants".
            let store = try SQLiteUploadRecordStore(path: path)
            #expect(try await store.record(old))
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(sql: """
                    DELETE FROM grdb_migrations WHERE identifier = 'variants';
                    ALTER TABLE upload DROP COLUMN variants; ALTER TABLE upload DROP COLUMN placeholder;
                    ALTER TABLE upload DROP COLUMN location_removed;
                    """)
            }
            try queue.close()
        }
        let store = try SQLiteUploadRecordStore(path: path)
        #expect(try store.appliedMigrations() == ["v1", "processing", "keyed", "multipart", "variants"])
        let read = try #require(try await store.upload(key: old.key))
        #expect(read == old && read.variants.isEmpty && read.placeholder == nil && !read.locationRemoved)
        old.status = .processed
        old.variants = [
            ImageVariant(width: 320, height: 213, format: .webp, key: "articles/\(article)/processed/1/w320.webp"),
            ImageVariant(width: 320, height: 213, format: .avif, key: "articles/\(article)/processed/1/w320.avif"),
        ]
        old.placeholder = "data:image/webp;base64,UklGRg=="
        old.locationRemoved = true
        try await store.update(old)
        #expect(try await store.upload(key: old.key) == old)
        #expect(try await store.uploads(inArticle: article) == [old])
    }

    @Test("unreadable variants text reads as none, not as a failed listing")
    func unreadableVariants() {
        #expect(UploadRecord.decodeVariants("not json").isEmpty)
        #expect(UploadRecord.decodeVariants(nil).isEmpty)
        #expect(UploadRecord.decodeVariants(#"[{"width":320,"height":1,"format":"webp","key":"k"}]"#).count == 1)
    }
}
