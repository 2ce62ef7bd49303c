import Crypto
import Foundation
import Synchronization
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineMultipartTests {
    static let mib = 1024 * 1024

    /// Deterministic bytes that differ from part to part.
    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7) }
    }

    @discardableResult
    static func upload(_ engine: StorageEngine, _ upload: MultipartUploadInfo, part: Int, _ bytes: [UInt8],
                       checksum: String? = nil) async throws -> PartInfo {
        let sink = try await engine.beginUpload(bucket: upload.bucket)
        try await sink.write(bytes)
        return try await engine.commitPart(sink, bucket: upload.bucket, key: upload.key, uploadId: upload.uploadId,
                                     partNumber: part, checksumSHA256: checksum)
    }

    static func md5Hex(_ bytes: [UInt8]) -> String {
        Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    @Test func completeAssemblesThePartsWithTheMultipartETag() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let metadata = ObjectMetadata(contentType: "image/png", userMetadata: ["article": "42"])
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "big/file.bin", metadata: metadata)
        let first = Self.bytes(5 * Self.mib, seed: 1)
        let second = Self.bytes(5 * Self.mib + 3, seed: 2)
        let last = Self.bytes(1000, seed: 3)
        // Parts may arrive in any order; a part may be replaced.
        try await Self.upload(engine, upload, part: 3, last)
        try await Self.upload(engine, upload, part: 1, Self.bytes(10, seed: 9))
        let p1 = try await Self.upload(engine, upload, part: 1, first)
        let p2 = try await Self.upload(engine, upload, part: 2, second)
        #expect(p1.etag == Self.md5Hex(first))
        #expect(try store.directory.blobFiles().count == 3, "the replaced part's blob is gone")
        await expectStoreError(.noSuchKey) { try await engine.head(bucket: "bucket", key: "big/file.bin") }

        let info = try await engine.completeMultipartUpload(bucket: "bucket", key: "big/file.bin", uploadId: upload.uploadId, parts: [
            CompletedPart(partNumber: 1, etag: "\"\(p1.etag)\""),
            CompletedPart(partNumber: 2, etag: p2.etag),
            CompletedPart(partNumber: 3, etag: Self.md5Hex(last)),
        ])
        var combined = Insecure.MD5()
        for part in [first, second, last] { combined.update(data: Array(Insecure.MD5.hash(data: part))) }
        let expected = combined.finalize().map { String(format: "%02x", $0) }.joined() + "-3"
        #expect(info.etag == expected)
        #expect(info.size == Int64(first.count + second.count + last.count))
        #expect(try await engine.bytes("bucket", "big/file.bin") == first + second + last)
        let head = try await engine.head(bucket: "bucket", key: "big/file.bin")
        #expect(head.metadata == metadata)
        #expect(head.etag == expected)
        // The upload is gone; its parts' blobs are the object's segments now, nothing was copied.
        #expect(try store.directory.blobFiles().count == 3)
        #expect(try store.directory.tmpFiles().isEmpty)
        await expectStoreError(.noSuchUpload) { try await engine.listParts(bucket: "bucket", key: "big/file.bin", uploadId: upload.uploadId) }
        #expect(try await engine.listMultipartUploads(bucket: "bucket").uploads.isEmpty)
    }

    @Test func completionChecksTheList() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        let small = try await Self.upload(engine, upload, part: 1, Self.bytes(100, seed: 1))
        let big = try await Self.upload(engine, upload, part: 2, Self.bytes(5 * Self.mib, seed: 2))
        let tail = try await Self.upload(engine, upload, part: 3, Self.bytes(10, seed: 3))
        func complete(_ parts: [(Int, String)]) async throws -> ObjectInfo {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId,
                                               parts: parts.map { CompletedPart(partNumber: $0.0, etag: $0.1) })
        }
        await expectStoreError(.invalidPartOrder) { try await complete([(2, big.etag), (1, small.etag)]) }
        await expectStoreError(.invalidPartOrder) { try await complete([(2, big.etag), (2, big.etag)]) }
        await expectStoreError(.invalidPart) { try await complete([(2, small.etag)]) }
        await expectStoreError(.invalidPart) { try await complete([(4, big.etag)]) }
        await expectStoreError(.entityTooSmall) { try await complete([(1, small.etag), (2, big.etag)]) }
        await expectStoreError(.invalidPart) { try await complete([]) }
        await expectStoreError(.noSuchUpload) {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "other", uploadId: upload.uploadId,
                                               parts: [CompletedPart(partNumber: 2, etag: big.etag)])
        }
        // Failures changed nothing: the parts are all still there.
        #expect(try await engine.listParts(bucket: "bucket", key: "k", uploadId: upload.uploadId).parts.map(\.partNumber) == [1, 2, 3])
        #expect(try store.directory.tmpFiles().isEmpty)
        // A subset of the parts is fine; the unused one is removed, the others are the object's segments.
        let info = try await complete([(2, big.etag), (3, tail.etag)])
        #expect(info.size == Int64(5 * Self.mib + 10))
        #expect(try store.directory.blobFiles().count == 2)
        #expect(try await engine.bytes("bucket", "k") == Self.bytes(5 * Self.mib, seed: 2) + Self.bytes(10, seed: 3))
    }

    @Test func completionHonoursIfNoneMatch() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.put("bucket", "k", "existing")
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        let part = try await Self.upload(engine, upload, part: 1, Self.bytes(10, seed: 1))
        await expectStoreError(.preconditionFailed) {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId,
                                               parts: [CompletedPart(partNumber: 1, etag: part.etag)], condition: .ifNoneMatchAny)
        }
        #expect(try await engine.text("bucket", "k") == "existing")
        // The refused completion changed nothing: the part and the old object remain, and so does the upload.
        #expect(try store.directory.blobFiles().count == 2)
        #expect(try await engine.listParts(bucket: "bucket", key: "k", uploadId: upload.uploadId).parts.count == 1)
    }

    @Test func partsAreCheckedAndNumbered() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        let data = Self.bytes(1000, seed: 5)
        let good = Data(SHA256.hash(data: data)).base64EncodedString()
        let part = try await Self.upload(engine, upload, part: 7, data, checksum: good)
        #expect(part.checksumSHA256 == good)
        await expectStoreError(.badDigest) { try await Self.upload(engine, upload, part: 8, data, checksum: Data(SHA256.hash(data: [1])).base64EncodedString()) }
        await expectStoreError(.invalidArgument) { try await Self.upload(engine, upload, part: 0, data) }
        await expectStoreError(.invalidArgument) { try await Self.upload(engine, upload, part: 10_001, data) }
        let unknown = MultipartUploadInfo(bucket: "bucket", key: "k", uploadId: "nope", initiated: Date(), metadata: ObjectMetadata())
        await expectStoreError(.noSuchUpload) { try await Self.upload(engine, unknown, part: 1, data) }
        #expect(try store.directory.blobFiles().count == 1, "refused parts leave no blob")
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func partsOnManyThreadsThenCompletionRacingAbortLeavesOneOutcome() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        // 16 parts written at once, each number twice with different bytes: one of each pair wins.
        await concurrently(32) { index in
            let number = index % 16 + 1
            let bytes = [UInt8](repeating: UInt8(index), count: number == 16 ? 7 : Self.mib * 5)
            _ = try? await Self.upload(engine, upload, part: number, bytes)
        }
        let listed = try await engine.listParts(bucket: "bucket", key: "k", uploadId: upload.uploadId).parts
        #expect(listed.map(\.partNumber) == Array(1...16))
        #expect(try store.directory.blobFiles().count == 16, "every losing part's blob is gone")
        let parts = listed.map { CompletedPart(partNumber: $0.partNumber, etag: $0.etag) }

        let outcomes = Mutex<[String]>([])
        await concurrently(2) { index in
            do {
                if index == 0 {
                    _ = try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, parts: parts)
                    outcomes.withLock { $0.append("completed") }
                } else {
                    try await engine.abortMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId)
                    outcomes.withLock { $0.append("aborted") }
                }
            } catch {
                outcomes.withLock { $0.append("\(error)") }
            }
        }
        let results = outcomes.withLock { $0 }
        #expect(try store.directory.tmpFiles().isEmpty)
        await expectStoreError(.noSuchUpload) { try await engine.listParts(bucket: "bucket", key: "k", uploadId: upload.uploadId) }
        if results.contains("completed") {
            // Completed first: the object is whole (its 16 segments), and the abort found nothing.
            let bytes = try await engine.bytes("bucket", "k")
            #expect(bytes.count == 15 * 5 * Self.mib + 7)
            #expect(try store.directory.blobFiles().count == 16)
        } else {
            #expect(results.contains("aborted"), "\(results)")
            await expectStoreError(.noSuchKey) { try await engine.head(bucket: "bucket", key: "k") }
            #expect(try store.directory.blobFiles().isEmpty)
        }
    }

    @Test func aPartMayGoWithoutSHA256() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        let data = Self.bytes(3000, seed: 8)
        func send(_ checksum: String?) async throws -> PartInfo {
            let sink = try await engine.beginPartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, computesSHA256: false)
            try await sink.write([UInt8](data))
            return try await engine.commitPart(sink, bucket: "bucket", key: "k", uploadId: upload.uploadId, partNumber: 1, checksumSHA256: checksum)
        }
        let part = try await send(nil)
        #expect(part.etag == Self.md5Hex(data))
        #expect(part.checksumSHA256 == nil)
        // A checksum cannot be vouched for by a part that skipped its SHA-256.
        await expectStoreError(.badDigest) { try await send(Data(SHA256.hash(data: data)).base64EncodedString()) }
        let info = try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId,
                                                      parts: [CompletedPart(partNumber: 1, etag: part.etag)])
        #expect(info.size == 3000)
        #expect(try await engine.bytes("bucket", "k") == data)
    }

    @Test func listPartsPaginates() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        for number in 1...25 { try await Self.upload(engine, upload, part: number, [UInt8(number)]) }
        var seen: [Int] = []
        var marker = 0
        var pages = 0
        while true {
            let page = try await engine.listParts(bucket: "bucket", key: "k", uploadId: upload.uploadId, partNumberMarker: marker, maxParts: 10)
            pages += 1
            seen += page.parts.map(\.partNumber)
            guard page.isTruncated, let next = page.nextPartNumberMarker else { break }
            marker = next
        }
        #expect(seen == Array(1...25))
        #expect(pages == 3)
    }

    @Test func listUploadsByPrefixAndMarkers() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        var ids: [String: [String]] = [:]
        for key in ["a/1", "a/2", "a/2", "b/1"] {
            ids[key, default: []].append(try await engine.createMultipartUpload(bucket: "bucket", key: key, metadata: ObjectMetadata()).uploadId)
        }
        #expect(try await engine.listMultipartUploads(bucket: "bucket", prefix: "a/").uploads.map(\.key) == ["a/1", "a/2", "a/2"])
        let first = try await engine.listMultipartUploads(bucket: "bucket", maxUploads: 2)
        #expect(first.isTruncated)
        #expect(first.uploads.map(\.key) == ["a/1", "a/2"])
        let second = try await engine.listMultipartUploads(bucket: "bucket", keyMarker: first.nextKeyMarker,
                                                     uploadIdMarker: first.nextUploadIdMarker, maxUploads: 2)
        #expect(second.uploads.map(\.key) == ["a/2", "b/1"])
        #expect(!second.isTruncated)
        #expect(Set(first.uploads.map(\.uploadId) + second.uploads.map(\.uploadId)) == Set(ids.values.flatMap { $0 }))
        #expect(try await engine.listMultipartUploads(bucket: "bucket", keyMarker: "a/2").uploads.map(\.key) == ["b/1"])
        await expectStoreError(.noSuchBucket) { try await engine.listMultipartUploads(bucket: "missing") }
    }

    @Test func abortRemovesTheParts() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        try await Self.upload(engine, upload, part: 1, [1, 2, 3])
        try await Self.upload(engine, upload, part: 2, [4, 5, 6])
        #expect(try store.directory.blobFiles().count == 2)
        try await engine.abortMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId)
        #expect(try store.directory.blobFiles().isEmpty)
        await expectStoreError(.noSuchUpload) { try await engine.abortMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId) }
        try await engine.deleteBucket("bucket")
    }

    @Test func deletingABucketTakesItsUploadsInProgressButNotItsObjects() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        try await Self.upload(engine, upload, part: 1, [1, 2, 3])
        try await Self.upload(engine, upload, part: 2, [4, 5, 6])
        try await engine.put("bucket", "object", "kept")
        await expectStoreError(.bucketNotEmpty) { try await engine.deleteBucket("bucket") }
        #expect(try store.directory.blobFiles().count == 3)
        try await engine.delete(bucket: "bucket", key: "object")
        // Uploads in progress do not make a bucket "not empty" (S3): they go with it, files and all.
        try await engine.deleteBucket("bucket")
        #expect(try store.directory.blobFiles().isEmpty)
        await expectStoreError(.noSuchBucket) { try await engine.listMultipartUploads(bucket: "bucket") }
        try await engine.createBucket("bucket")
        #expect(try await engine.listMultipartUploads(bucket: "bucket").uploads.isEmpty)
        await expectStoreError(.noSuchUpload) {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId,
                                                     parts: [CompletedPart(partNumber: 1, etag: "x")])
        }
    }

    @Test func aRetriedCompletionAnswersLikeTheFirst() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        let p1 = try await Self.upload(engine, upload, part: 1, Self.bytes(5 * Self.mib, seed: 9))
        let p2 = try await Self.upload(engine, upload, part: 2, [7, 7])
        let parts = [CompletedPart(partNumber: 1, etag: p1.etag), CompletedPart(partNumber: 2, etag: "\"\(p2.etag)\"")]
        let first = try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, parts: parts)
        // The same list again (quoted or not): the same object, not NoSuchUpload.
        let again = try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, parts: [
            CompletedPart(partNumber: 1, etag: "\"\(p1.etag.uppercased())\""), CompletedPart(partNumber: 2, etag: p2.etag),
        ])
        #expect(again.etag == first.etag)
        #expect(again.size == first.size)
        #expect(try await engine.bytes("bucket", "k").count == 5 * Self.mib + 2)
        // Another part list, another key or another upload id: still no such upload.
        await expectStoreError(.noSuchUpload) {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, parts: [parts[0]])
        }
        await expectStoreError(.noSuchUpload) {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "other", uploadId: upload.uploadId, parts: parts)
        }
        await expectStoreError(.noSuchUpload) {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: "not-an-upload", parts: parts)
        }
        // A day later the completion is forgotten.
        store.clock.advance(by: 86_401)
        await expectStoreError(.noSuchUpload) {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, parts: parts)
        }
    }

    @Test func aPartUploadedTwiceIsThereOnceAndTheLastCommitWins() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        // Both bodies are written before either commits; the one that commits last wins.
        let slow = try await engine.beginPartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, computesSHA256: false)
        try await slow.write([1, 1, 1])
        let fast = try await engine.beginPartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, computesSHA256: false)
        try await fast.write([2, 2])
        let fastPart = try await engine.commitPart(fast, bucket: "bucket", key: "k", uploadId: upload.uploadId, partNumber: 1, checksumSHA256: nil)
        let slowPart = try await engine.commitPart(slow, bucket: "bucket", key: "k", uploadId: upload.uploadId, partNumber: 1, checksumSHA256: nil)
        let listed = try await engine.listParts(bucket: "bucket", key: "k", uploadId: upload.uploadId)
        #expect(listed.parts.map(\.partNumber) == [1])
        #expect(listed.parts.first?.etag == slowPart.etag)
        #expect(try store.directory.blobFiles().count == 1)
        await expectStoreError(.invalidPart) {
            try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId,
                                                     parts: [CompletedPart(partNumber: 1, etag: fastPart.etag)])
        }
        _ = try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId,
                                                     parts: [CompletedPart(partNumber: 1, etag: slowPart.etag)])
        #expect(try await engine.bytes("bucket", "k") == [1, 1, 1])
    }

    @Test func copyPartTakesARange() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let source = Self.bytes(3 * Self.mib + 5, seed: 4)
        try await engine.put("bucket", "source", source)
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "copy", metadata: ObjectMetadata())
        let whole = try await engine.copyPart(bucket: "bucket", key: "copy", uploadId: upload.uploadId, partNumber: 1,
                                        fromBucket: "bucket", fromKey: "source")
        #expect(whole.size == Int64(source.count))
        #expect(whole.etag == Self.md5Hex(source))
        let slice = try await engine.copyPart(bucket: "bucket", key: "copy", uploadId: upload.uploadId, partNumber: 2,
                                        fromBucket: "bucket", fromKey: "source", range: 10...19)
        #expect(slice.etag == Self.md5Hex(Array(source[10...19])))
        await expectStoreError(.invalidArgument) {
            try await engine.copyPart(bucket: "bucket", key: "copy", uploadId: upload.uploadId, partNumber: 3,
                                fromBucket: "bucket", fromKey: "source", range: 10...Int64(source.count))
        }
        await expectStoreError(.noSuchKey) {
            try await engine.copyPart(bucket: "bucket", key: "copy", uploadId: upload.uploadId, partNumber: 3, fromBucket: "bucket", fromKey: "nope")
        }
    }

    @Test func partsSurviveARestartAndOrphansDoNot() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var uploadId = ""
        do {
            let engine = try StorageEngine(directory: directory.url)
            try await engine.createBucket("bucket")
            let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
            uploadId = upload.uploadId
            try await Self.upload(engine, upload, part: 1, [1, 2, 3])
        }
        // A blob no row references, as a crash between rename and index would leave.
        let stray = StoreLayout.newBlobName()
        let shard = directory.url.appendingPathComponent("blobs/\(stray.prefix(2))")
        _ = FileManager.default.createFile(atPath: shard.appendingPathComponent(stray).path, contents: Data([9]))
        let engine = try StorageEngine(directory: directory.url)
        #expect(try directory.blobFiles().count == 1, "the part's blob is kept, the stray one removed")
        let parts = try await engine.listParts(bucket: "bucket", key: "k", uploadId: uploadId)
        #expect(parts.parts.map(\.size) == [3])
        let info = try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: uploadId,
                                                      parts: [CompletedPart(partNumber: 1, etag: parts.parts[0].etag)])
        #expect(info.etag.hasSuffix("-1"))
        #expect(try await engine.bytes("bucket", "k") == [1, 2, 3])
    }

    @Test func lifecycleAbortsOldUploadsAndExpiresObjectsByPrefix() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let rules = LifecycleConfiguration(rules: [
            .init(id: "uploads", prefix: "tmp/", abortIncompleteMultipartUploadDays: 1),
            .init(id: "logs", prefix: "logs/", expirationDays: 2),
            .init(id: "off", prefix: "", enabled: false, abortIncompleteMultipartUploadDays: 1, expirationDays: 1),
        ])
        try await engine.setBucketConfiguration("bucket", name: LifecycleConfiguration.configurationName, value: try JSONEncoder().encode(rules))
        let old = try await engine.createMultipartUpload(bucket: "bucket", key: "tmp/old", metadata: ObjectMetadata())
        try await Self.upload(engine, old, part: 1, [1, 2, 3])
        let kept = try await engine.createMultipartUpload(bucket: "bucket", key: "keep/old", metadata: ObjectMetadata())
        try await engine.put("bucket", "logs/a", "a")
        try await engine.put("bucket", "data/a", "a")
        store.clock.advance(by: 86_400 + 10)
        let fresh = try await engine.createMultipartUpload(bucket: "bucket", key: "tmp/new", metadata: ObjectMetadata())
        try await engine.put("bucket", "logs/b", "b")

        var report = try await engine.applyLifecycle(now: store.clock.now)
        #expect(report.abortedUploads == 1)
        #expect(report.expiredObjects == 0)
        #expect(Set(try await engine.listMultipartUploads(bucket: "bucket").uploads.map(\.uploadId)) == [kept.uploadId, fresh.uploadId])
        #expect(try store.directory.blobFiles().count == 3, "the aborted upload's part is gone")

        store.clock.advance(by: 86_400 + 1)
        report = try await engine.applyLifecycle(now: store.clock.now)
        #expect(report.expiredObjects == 1)
        #expect(report.abortedUploads == 1, "tmp/new is a day old now")
        await expectStoreError(.noSuchKey) { try await engine.head(bucket: "bucket", key: "logs/a") }
        #expect(try await engine.text("bucket", "logs/b") == "b")
        #expect(try await engine.text("bucket", "data/a") == "a")
        #expect(try store.directory.blobFiles().count == 2)
    }

    // MARK: Segmented objects

    /// The blob names the index lists as the latest object's segments at `key`, in order (`[]` for a one-blob object).
    static func segmentNames(_ engine: StorageEngine, _ key: String) throws -> [String] {
        let text = try engine.database.read { db in
            try String.fetchOne(db, sql: "SELECT segments FROM object WHERE key = ? AND is_latest = 1", arguments: [Data(key.utf8)])
        }
        guard let text else { return [] }
        return try Segment.decode(text).map(\.blob)
    }

    @Test func completionCopiesNothingAndKeepsThePartsAsSegments() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let parts = [Self.bytes(5 * Self.mib, seed: 1), Self.bytes(5 * Self.mib + 1, seed: 2), Self.bytes(77, seed: 3)]
        try await engine.putMultipart("bucket", "k", parts)
        let listed = try Self.segmentNames(engine, "k")
        #expect(listed.count == 3)
        #expect(try store.directory.blobNames() == Set(listed), "the segments are the files on disk, and nothing else is")
        #expect(try await engine.bytes("bucket", "k") == Array(parts.joined()))
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func overwritingOrDeletingASegmentedObjectRemovesEverySegment() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let parts = [Self.bytes(5 * Self.mib, seed: 1), Self.bytes(5 * Self.mib, seed: 2), Self.bytes(9, seed: 3)]
        try await engine.putMultipart("bucket", "k", parts)
        #expect(try store.directory.blobFiles().count == 3)
        try await engine.put("bucket", "k", "plain")
        #expect(try store.directory.blobFiles().count == 1, "the overwrite removed all three segments")
        #expect(try await engine.text("bucket", "k") == "plain")
        try await engine.putMultipart("bucket", "k", parts)
        #expect(try store.directory.blobFiles().count == 3, "the plain blob is gone")
        let reordered = [parts[1], parts[0], parts[2]]
        try await engine.putMultipart("bucket", "k", reordered)
        #expect(try store.directory.blobNames() == Set(try Self.segmentNames(engine, "k")), "only the new segments remain")
        #expect(try await engine.bytes("bucket", "k") == Array(reordered.joined()))
        #expect(try await engine.delete(bucket: "bucket", key: "k"))
        #expect(try store.directory.blobFiles().isEmpty)
    }

    @Test func aCopyKeepsTheSegmentsUntilTheLastRowGoes() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let parts = [Self.bytes(5 * Self.mib, seed: 4), Self.bytes(5 * Self.mib, seed: 5), Self.bytes(100, seed: 6)]
        let whole = Array(parts.joined())
        let original = try await engine.putMultipart("bucket", "k", parts)
        let copy = try await engine.copy(fromBucket: "bucket", fromKey: "k", toBucket: "bucket", toKey: "copy",
                                   metadata: ObjectMetadata(contentType: "text/plain"))
        #expect(copy.etag == original.etag)
        #expect(copy.size == original.size)
        #expect(try Self.segmentNames(engine, "copy") == Self.segmentNames(engine, "k"), "the copy shares the row's segments")
        #expect(try store.directory.blobFiles().count == 3, "no bytes were copied")
        #expect(try await engine.delete(bucket: "bucket", key: "k"))
        #expect(try store.directory.blobFiles().count == 3, "the copy still uses every segment")
        #expect(try await engine.bytes("bucket", "copy") == whole)
        // A copy onto itself (new metadata) replaces the row and keeps the files.
        _ = try await engine.copy(fromBucket: "bucket", fromKey: "copy", toBucket: "bucket", toKey: "copy",
                            metadata: ObjectMetadata(contentType: "application/octet-stream"))
        #expect(try store.directory.blobFiles().count == 3)
        #expect(try await engine.bytes("bucket", "copy") == whole)
        #expect(try await engine.delete(bucket: "bucket", key: "copy"))
        #expect(try store.directory.blobFiles().isEmpty)
    }

    @Test func completingWithASubsetRemovesTheUnusedParts() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        let data = (1...4).map { Self.bytes(5 * Self.mib, seed: UInt8($0)) }
        var infos: [PartInfo] = []
        for (index, bytes) in data.enumerated() { infos.append(try await Self.upload(engine, upload, part: index + 1, bytes)) }
        #expect(try store.directory.blobFiles().count == 4)
        let info = try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId, parts: [
            CompletedPart(partNumber: 1, etag: infos[0].etag),
            CompletedPart(partNumber: 3, etag: infos[2].etag),
        ])
        #expect(info.size == Int64(10 * Self.mib))
        #expect(info.etag.hasSuffix("-2"))
        let segments = try Self.segmentNames(engine, "k")
        #expect(segments.count == 2)
        #expect(try store.directory.blobNames() == Set(segments), "parts 2 and 4 are gone")
        #expect(try await engine.bytes("bucket", "k") == data[0] + data[2])
    }

    @Test func anEmptyLastPartIsAnEmptySegment() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let first = Self.bytes(5 * Self.mib, seed: 7)
        let info = try await engine.putMultipart("bucket", "k", [first, []])
        #expect(info.size == Int64(first.count))
        #expect(try Self.segmentNames(engine, "k").count == 2)
        #expect(try await engine.bytes("bucket", "k") == first)
        let (_, reader) = try await engine.open(bucket: "bucket", key: "k")
        defer { reader.close() }
        #expect(try await reader.read(offset: Int64(first.count - 1), count: 10) == [first[first.count - 1]])
        #expect(try await reader.read(offset: Int64(first.count), count: 10) == [])
    }

    @Test func aOnePartUploadIsAnOrdinaryObject() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let info = try await engine.putMultipart("bucket", "k", [Array("only".utf8)])
        #expect(info.etag.hasSuffix("-1"))
        #expect(try Self.segmentNames(engine, "k").isEmpty, "no segment list: the part's blob is the object's blob")
        #expect(try await engine.text("bucket", "k") == "only")
        #expect(try store.directory.blobFiles().count == 1)
    }

    @Test func aMissingOrShortSegmentFailsTheOpen() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.putMultipart("bucket", "k", [Self.bytes(5 * Self.mib, seed: 8), Self.bytes(10, seed: 9)])
        let segments = try Self.segmentNames(engine, "k")
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: store.directory.blobPath(segments[1])))
        await expectStoreError(.internalError) { try await engine.open(bucket: "bucket", key: "k") }
        FileIO.removeIfExists(store.directory.blobPath(segments[1]))
        await expectStoreError(.internalError) { try await engine.open(bucket: "bucket", key: "k") }
    }

    @Test func copyPartReadsASegmentedSource() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let parts = [pseudoRandomBytes(5 * Self.mib, seed: 1), pseudoRandomBytes(5 * Self.mib, seed: 2), pseudoRandomBytes(1000, seed: 3)]
        let whole = Array(parts.joined())
        try await engine.putMultipart("bucket", "source", parts)
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "copy", metadata: ObjectMetadata())
        // Part 1 ends 100 bytes into the source's second segment; part 2 is the rest, across the last boundary.
        let cut = 5 * Self.mib + 100
        let first = try await engine.copyPart(bucket: "bucket", key: "copy", uploadId: upload.uploadId, partNumber: 1,
                                        fromBucket: "bucket", fromKey: "source", range: 0...Int64(cut - 1))
        #expect(first.etag == Self.md5Hex(Array(whole[..<cut])))
        let second = try await engine.copyPart(bucket: "bucket", key: "copy", uploadId: upload.uploadId, partNumber: 2,
                                         fromBucket: "bucket", fromKey: "source", range: Int64(cut)...Int64(whole.count - 1))
        #expect(second.etag == Self.md5Hex(Array(whole[cut...])))
        let entire = try await engine.copyPart(bucket: "bucket", key: "copy", uploadId: upload.uploadId, partNumber: 3,
                                         fromBucket: "bucket", fromKey: "source")
        #expect(entire.size == Int64(whole.count))
        #expect(entire.etag == Self.md5Hex(whole))
        _ = try await engine.completeMultipartUpload(bucket: "bucket", key: "copy", uploadId: upload.uploadId, parts: [
            CompletedPart(partNumber: 1, etag: first.etag), CompletedPart(partNumber: 2, etag: second.etag),
        ])
        #expect(try await engine.bytes("bucket", "copy") == whole)
        #expect(try await engine.bytes("bucket", "source") == whole)
    }

    @Test func lifecycleExpirationRemovesEverySegment() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.putMultipart("bucket", "logs/big", [Self.bytes(5 * Self.mib, seed: 1), Self.bytes(5, seed: 2)])
        try await engine.put("bucket", "keep", "x")
        #expect(try store.directory.blobFiles().count == 3)
        store.clock.advance(by: 3 * 86_400)
        #expect(try await engine.expireObjects(bucket: "bucket", prefix: "logs/", modifiedBefore: store.clock.now - 86_400) == 1)
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try await engine.text("bucket", "keep") == "x")
    }
}
