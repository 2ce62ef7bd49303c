import Foundation
import Testing
import Uploads
@testable import UploadsPostgres

/// The record stores: where the records live.
enum StoreKind: String, Sendable, CaseIterable, CustomTestStringConvertible {
    case sqlite, postgres

    /// SQLite always; PostgreSQL where its programs are installed (or required).
    static let available: [StoreKind] = PostgresServer.skipped ? [.sqlite] : [.sqlite, .postgres]

    var testDescription: String { rawValue }
}

/// Runs `body` with two store instances on the same fresh data: for SQLite two pools on one
/// file (a restart), for PostgreSQL two pools on one server (two API replicas).
func withTwoStores(_ kind: StoreKind,
                   _ body: @escaping @Sendable (any UploadRecordStore, any UploadRecordStore) async throws -> Void) async throws {
    switch kind {
    case .sqlite:
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-conformance-\(UUID().uuidString)/uploads.sqlite").path
        let first = try SQLiteUploadRecordStore(path: path)
        let second = try SQLiteUploadRecordStore(path: path)
        try await body(first, second)
        try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent)
    case .postgres:
        try await PostgresServer.run { server async throws in
            try await server.withDatabase { one async throws in
                try await server.withDatabase { two async throws in
                    try await body(PostgresUploadRecordStore(database: one), PostgresUploadRecordStore(database: two))
                }
            }
        }
    }
}

/// One record for `article` by `owner`; `n` orders them (issued at 1_800_000_000 + n).
func sampleRecord(_ article: String, _ owner: String, _ n: Int) -> UploadRecord {
    UploadRecord(key: "articles/\(article)/raw/\(n).png", articleId: article, owner: owner, contentType: "image/png",
                 size: Int64(n + 1), checksumSHA256: n % 2 == 0 ? nil : "c2hhMjU2LW9mLXRoZS1ib2R5",
                 issuedAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(n)),
                 expiresAt: Date(timeIntervalSince1970: 1_800_000_900), status: .pending)
}

/// The behaviours every ``UploadRecordStore`` shares, run against SQLite and a real PostgreSQL.
@Suite("Upload record store conformance")
struct UploadRecordStoreConformanceTests {
    @Test("a record round-trips; a missing article or key is nil", arguments: StoreKind.available)
    func roundTrip(_ kind: StoreKind) async throws {
        try await withTwoStores(kind) { store, other async throws in
            let r = sampleRecord(UUID().uuidString.lowercased(), "carol", 7)
            #expect(try await store.record(r))
            #expect(try await store.uploads(inArticle: r.articleId) == [r])
            #expect(try await other.upload(key: r.key) == r)
            #expect(try await store.owner(ofArticle: "missing") == nil)
            #expect(try await store.upload(key: "articles/missing/raw/1.png") == nil)
        }
    }

    @Test("an article's uploads are its own only, oldest first; a key outside its article is refused", arguments: StoreKind.available)
    func keyRange(_ kind: StoreKind) async throws {
        try await withTwoStores(kind) { store, _ async throws in
            // Two articles whose ids share a prefix, so a sloppy range would mix them.
            let first = "3f1c0d5e-8b7a-4c2d-9e1f-0a1b2c3d4e5f", second = "3f1c0d5e-8b7a-4c2d-9e1f-0a1b2c3d4e50"
            for n in [5, 1, 3] { #expect(try await store.record(sampleRecord(first, "alice", n))) }
            for n in [2, 4] { #expect(try await store.record(sampleRecord(second, "alice", n))) }
            #expect(try await store.uploads(inArticle: first).map(\.key) == [1, 3, 5].map { "articles/\(first)/raw/\($0).png" })
            #expect(try await store.uploads(inArticle: second).map(\.key) == [2, 4].map { "articles/\(second)/raw/\($0).png" })
            var stray = sampleRecord(first, "alice", 9)
            stray.key = "articles/\(second)/raw/9.png"
            await #expect(throws: (any Error).self) { try await store.record(stray) }
            #expect(try await store.uploads(inArticle: second).count == 2)
        }
    }

    @Test("an article belongs to its first user: another user is refused, writing nothing, from any instance",
          arguments: StoreKind.available)
    func owners(_ kind: StoreKind) async throws {
        try await withTwoStores(kind) { store, other async throws in
            let article = UUID().uuidString.lowercased()
            #expect(try await store.record(sampleRecord(article, "alice", 1)))
            #expect(try await store.record(sampleRecord(article, "bob", 2)) == false)
            #expect(try await store.record(sampleRecord(article, "alice", 3)))
            // The other instance (a restart, or another replica) knows nothing in memory.
            #expect(try await other.record(sampleRecord(article, "bob", 4)) == false)
            #expect(try await other.owner(ofArticle: article) == "alice")
            #expect(try await other.uploads(inArticle: article).map(\.owner) == ["alice", "alice"])
            #expect(try await other.record(sampleRecord(article, "alice", 5)))
            // Each instance reads the other's writes.
            #expect(try await store.uploads(inArticle: article).map(\.key) == [1, 3, 5].map { "articles/\(article)/raw/\($0).png" })
        }
    }

    @Test("processing state is written and read back; expiry marks only pending records past the cutoff",
          arguments: StoreKind.available)
    func updateAndExpire(_ kind: StoreKind) async throws {
        try await withTwoStores(kind) { store, other async throws in
            let article = UUID().uuidString.lowercased()
            var processed = sampleRecord(article, "alice", 1)
            let pending = sampleRecord(article, "alice", 2)
            var late = sampleRecord(article, "alice", 3)
            late.expiresAt = Date(timeIntervalSince1970: 1_800_009_000)
            for r in [processed, pending, late] { #expect(try await store.record(r)) }
            processed.status = .processed
            processed.width = 640
            processed.height = 480
            processed.etag = "9b2cf535f27731c974343645a3985328"
            processed.sequencer = "0000000000000002"
            processed.uploadedAt = Date(timeIntervalSince1970: 1_800_000_010.5)
            processed.processedAt = Date(timeIntervalSince1970: 1_800_000_011.25)
            processed.derived = ["thumbnail": "articles/\(article)/processed/1/thumb.webp", "web": "articles/\(article)/processed/1/web.webp"]
            processed.variants = [
                ImageVariant(width: 320, height: 240, format: .webp, key: "articles/\(article)/processed/1/w320.webp"),
                ImageVariant(width: 320, height: 240, format: .avif, key: "articles/\(article)/processed/1/w320.avif"),
                ImageVariant(width: 640, height: 480, format: .webp, key: "articles/\(article)/processed/1/w640.webp"),
            ]
            processed.placeholder = "data:image/webp;base64,UklGRg=="
            processed.locationRemoved = true
            try await other.update(processed)
            #expect(try await store.upload(key: processed.key) == processed)
            var rejected = pending
            rejected.status = .rejected
            rejected.reason = "not an image"
            try await store.update(rejected)
            #expect(try await other.upload(key: rejected.key) == rejected)
            try await store.update(pending)  // back to pending, derived cleared
            #expect(try await other.upload(key: pending.key) == pending)

            #expect(try await store.expirePending(before: Date(timeIntervalSince1970: 1_800_001_000)) == 1)
            #expect(try await other.upload(key: pending.key)?.status == .expired)
            #expect(try await other.upload(key: late.key)?.status == .pending)
            #expect(try await other.upload(key: processed.key)?.status == .processed)
            #expect(try await other.expirePending(before: Date(timeIntervalSince1970: 1_800_001_000)) == 0)
        }
    }

    @Test("concurrent records from two instances: every one is written, in one owner's article", arguments: StoreKind.available)
    func concurrent(_ kind: StoreKind) async throws {
        try await withTwoStores(kind) { store, other async throws in
            let article = UUID().uuidString.lowercased()
            let results = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for n in 0..<200 {
                    let owner = n % 2 == 0 ? "alice" : "bob"
                    let instance = n % 4 < 2 ? store : other
                    group.addTask { (owner, try await instance.record(sampleRecord(article, owner, n))) }
                }
                return try await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
            }
            let winners = Set(results.filter(\.1).map(\.0))
            #expect(winners.count == 1, "exactly one user owns the article")
            let owner = try #require(winners.first)
            #expect(results.filter { $0.0 == owner }.allSatisfy { $0.1 }, "every request of the owner was recorded")
            #expect(try await other.owner(ofArticle: article) == owner)
            let uploads = try await store.uploads(inArticle: article)
            #expect(uploads.count == 100)
            #expect(uploads.allSatisfy { $0.owner == owner })
            #expect(uploads.map(\.issuedAt) == uploads.map(\.issuedAt).sorted())
        }
    }
}

/// The multipart-upload records every ``UploadRecordStore`` keeps, on SQLite and a real PostgreSQL.
@Suite("Upload record store conformance: multipart uploads")
struct MultipartRecordConformanceTests {
    static func multipart(_ id: String, article: String, expiresAt: Double = 1_800_086_400, checksum: Bool = false) -> MultipartUploadRecord {
        MultipartUploadRecord(uploadId: id, key: "articles/\(article)/raw/\(id).jpg", articleId: article, owner: "carol",
                              contentType: "image/jpeg", size: (20 << 20) + 5, partSize: 8 << 20, checksumSHA256: checksum,
                              createdAt: Date(timeIntervalSince1970: 1_800_000_000), expiresAt: Date(timeIntervalSince1970: expiresAt))
    }

    @Test("a multipart upload round-trips; completion is recorded once and never undone", arguments: StoreKind.available)
    func roundTripAndCompletion(_ kind: StoreKind) async throws {
        try await withTwoStores(kind) { store, other async throws in
            let article = UUID().uuidString.lowercased()
            #expect(try await store.record(sampleRecord(article, "carol", 1)))
            let upload = Self.multipart("upload-\(article)", article: article, checksum: true)
            try await store.recordMultipart(upload)
            #expect(try await other.multipartUpload(id: upload.uploadId) == upload)
            #expect(try await other.multipartUpload(id: "missing") == nil)

            let at = Date(timeIntervalSince1970: 1_800_000_100)
            let done = try #require(try await store.finishMultipart(id: upload.uploadId, status: .completed, etag: "abc-3", at: at))
            #expect(done.status == .completed && done.etag == "abc-3" && done.finishedAt == at)
            // A later abort, or a second completion, changes nothing.
            let again = try await other.finishMultipart(id: upload.uploadId, status: .aborted, etag: nil, at: at + 50)
            #expect(again == done)
            #expect(try await store.multipartUpload(id: upload.uploadId) == done)
            #expect(try await store.finishMultipart(id: "missing", status: .aborted, etag: nil, at: at) == nil)
        }
    }

    @Test("expired multipart uploads: only active ones past the cutoff, oldest first, at most the limit",
          arguments: StoreKind.available)
    func expired(_ kind: StoreKind) async throws {
        try await withTwoStores(kind) { store, other async throws in
            let article = UUID().uuidString.lowercased()
            #expect(try await store.record(sampleRecord(article, "carol", 1)))
            for (n, expiry) in [(1, 1_800_000_300.0), (2, 1_800_000_100), (3, 1_800_000_200), (4, 1_800_009_000)] {
                try await store.recordMultipart(Self.multipart("u\(n)-\(article)", article: article, expiresAt: expiry))
            }
            _ = try await store.finishMultipart(id: "u3-\(article)", status: .aborted, etag: nil, at: Date(timeIntervalSince1970: 1_800_000_000))
            let cutoff = Date(timeIntervalSince1970: 1_800_001_000)
            let expired = try await other.expiredMultipartUploads(before: cutoff, limit: 10).filter { $0.articleId == article }
            #expect(expired.map(\.uploadId) == ["u2-\(article)", "u1-\(article)"])
            #expect(try await other.expiredMultipartUploads(before: cutoff, limit: 1).count == 1)
        }
    }
}
