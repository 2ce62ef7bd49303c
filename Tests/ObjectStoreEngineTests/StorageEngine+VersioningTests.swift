import Events
import Foundation
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineVersioningTests {
    /// The text of one version.
    func text(_ engine: StorageEngine, _ key: String, version: String?) async throws -> String {
        let (_, reader) = try await engine.open(bucket: "bucket", key: key, versionId: version)
        defer { reader.close() }
        return String(decoding: try await reader.read(offset: 0, count: Int(reader.size)), as: UTF8.self)
    }

    /// Every entry of a version listing as `key@version` (`*` latest, `-` marker), paging by `pageSize`.
    func allVersions(_ engine: StorageEngine, prefix: String = "", delimiter: String? = nil, pageSize: Int) async throws -> (names: [String], pages: Int) {
        var names: [String] = []
        var keyMarker: String?
        var versionMarker: String?
        var pages = 0
        while true {
            let page = try await engine.listVersions(bucket: "bucket", prefix: prefix, delimiter: delimiter, keyMarker: keyMarker,
                                               versionIdMarker: versionMarker, maxKeys: pageSize)
            pages += 1
            for entry in page.entries {
                switch entry {
                case .version(let info, let latest): names.append("\(info.key)@\(info.versionId ?? "?")\(latest ? "*" : "")")
                case .deleteMarker(let key, let version, let latest, _): names.append("\(key)@\(version)-\(latest ? "*" : "")")
                case .commonPrefix(let prefix): names.append(prefix)
                }
            }
            guard page.isTruncated else { return (names, pages) }
            #expect(pages < 100)
            keyMarker = page.nextKeyMarker
            versionMarker = page.nextVersionIdMarker
        }
    }

    @Test func neverConfiguredBucketsHaveNoStatusAndNoVersionIds() async throws {
        let store = try await TestStore()
        defer { store.close() }
        #expect(try await store.engine.versioning("bucket") == nil)
        let first = try await store.engine.put("bucket", "k", "one")
        #expect(first.versionId == nil)
        try await store.engine.put("bucket", "k", "two")
        #expect(try await store.engine.head(bucket: "bucket", key: "k").versionId == nil)
        let outcome = try await store.engine.delete(bucket: "bucket", key: "k", versionId: nil)
        #expect(outcome == DeleteOutcome(removed: true, versionId: nil, isDeleteMarker: false))
        await expectStoreError(.noSuchKey) { try await store.engine.head(bucket: "bucket", key: "k") }
        #expect(try store.directory.blobFiles().isEmpty)
        await expectStoreError(.noSuchBucket) { try await store.engine.versioning("nope") }
    }

    @Test func noncurrentVersionsExpireByTheTimeTheyBecameNoncurrent() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setVersioning("bucket", .enabled)
        let rules = LifecycleConfiguration(rules: [.init(id: "old-versions", prefix: "photos/", noncurrentVersionExpirationDays: 2)])
        try await engine.setBucketConfiguration("bucket", name: LifecycleConfiguration.configurationName, value: try JSONEncoder().encode(rules))
        let v1 = try await engine.put("bucket", "photos/a", "one")
        store.clock.advance(by: 10 * 86_400)  // v1 is old, but still current until v2 is written
        let v2 = try await engine.put("bucket", "photos/a", "two")
        let other = try await engine.put("bucket", "other/a", "kept")
        _ = try await engine.put("bucket", "other/a", "newer")
        store.clock.advance(by: 86_400)
        var report = try await engine.applyLifecycle(now: store.clock.now)
        #expect(report.expiredVersions == 0, "v1 has been noncurrent for one day only")
        #expect(try await engine.head(bucket: "bucket", key: "photos/a", versionId: v1.versionId).size == 3)

        try await engine.delete(bucket: "bucket", key: "photos/a")  // a delete marker: v2 becomes noncurrent now
        store.clock.advance(by: 86_400 + 10)
        report = try await engine.applyLifecycle(now: store.clock.now)
        #expect(report.expiredVersions == 1)
        await expectStoreError(.noSuchVersion) { try await engine.head(bucket: "bucket", key: "photos/a", versionId: v1.versionId) }
        #expect(try await engine.head(bucket: "bucket", key: "photos/a", versionId: v2.versionId).size == 3)
        #expect(try await engine.head(bucket: "bucket", key: "other/a", versionId: other.versionId).size == 4, "outside the prefix")

        store.clock.advance(by: 2 * 86_400)
        report = try await engine.applyLifecycle(now: store.clock.now)
        #expect(report.expiredVersions == 1)
        await expectStoreError(.noSuchVersion) { try await engine.head(bucket: "bucket", key: "photos/a", versionId: v2.versionId) }
        // The delete marker is the current version: it stays.
        await expectStoreError(.noSuchKey) { try await engine.head(bucket: "bucket", key: "photos/a") }
    }

    @Test func enabledKeepsEveryVersionReadableById() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setVersioning("bucket", .enabled)
        #expect(try await engine.versioning("bucket") == .enabled)
        let first = try await engine.put("bucket", "k", "one")
        let v1 = try #require(first.versionId)
        let v2 = try #require(try await engine.put("bucket", "k", "two").versionId)
        #expect(v1 != v2 && v1 != "null" && StorageEngine.isValidVersionId(v1))
        #expect(try await engine.text("bucket", "k") == "two")
        #expect(try await text(engine, "k", version: v1) == "one")
        #expect(try await engine.head(bucket: "bucket", key: "k").versionId == v2)
        #expect(try await engine.head(bucket: "bucket", key: "k", versionId: v1).etag == first.etag)
        #expect(try store.directory.blobFiles().count == 2)
        await expectStoreError(.noSuchVersion) { try await engine.head(bucket: "bucket", key: "k", versionId: String(repeating: "0", count: 32)) }
        await expectStoreError(.invalidArgument) { try await engine.head(bucket: "bucket", key: "k", versionId: "not-an-id") }
        // The listing shows only the latest.
        let page = try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: 10)
        #expect(page.entries.map(\.name) == ["k"])
    }

    @Test func deleteMarkersHideTheKeyAndDeletingThemBringsItBack() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setVersioning("bucket", .enabled)
        let v1 = try #require(try await engine.put("bucket", "k", "one").versionId)
        let marker = try await engine.delete(bucket: "bucket", key: "k", versionId: nil)
        #expect(marker.removed && marker.isDeleteMarker)
        let markerId = try #require(marker.versionId)
        do {
            _ = try await engine.head(bucket: "bucket", key: "k")
            Issue.record("a delete marker must hide the key")
        } catch {
            #expect(error.code == .noSuchKey && error.isDeleteMarker && error.versionId == markerId)
        }
        do {
            _ = try await engine.open(bucket: "bucket", key: "k", versionId: markerId)
            Issue.record("a delete marker's version cannot be read")
        } catch {
            #expect(error.code == .methodNotAllowed && error.isDeleteMarker)
        }
        #expect(try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: 10).entries.isEmpty)
        #expect(try await text(engine, "k", version: v1) == "one")
        await expectStoreError(.bucketNotEmpty) { try await engine.deleteBucket("bucket") }

        // Removing the marker for good makes the previous version the latest again.
        let removed = try await engine.delete(bucket: "bucket", key: "k", versionId: markerId)
        #expect(removed == DeleteOutcome(removed: true, versionId: markerId, isDeleteMarker: true))
        #expect(try await engine.text("bucket", "k") == "one")
        #expect(try await engine.head(bucket: "bucket", key: "k").versionId == v1)

        // Removing the only version leaves nothing, and its blob goes.
        #expect(try await engine.delete(bucket: "bucket", key: "k", versionId: v1).removed)
        #expect(try await engine.delete(bucket: "bucket", key: "k", versionId: v1).removed == false)
        await expectStoreError(.noSuchKey) { try await engine.head(bucket: "bucket", key: "k") }
        #expect(try store.directory.blobFiles().isEmpty)
        try await engine.deleteBucket("bucket")
    }

    @Test func deletingTheLatestVersionPromotesThePreviousOne() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setVersioning("bucket", .enabled)
        let v1 = try #require(try await engine.put("bucket", "k", "one").versionId)
        let v2 = try #require(try await engine.put("bucket", "k", "two").versionId)
        let v3 = try #require(try await engine.put("bucket", "k", "three").versionId)
        _ = try await engine.delete(bucket: "bucket", key: "k", versionId: v2)  // a noncurrent one: the latest stays
        #expect(try await engine.text("bucket", "k") == "three")
        _ = try await engine.delete(bucket: "bucket", key: "k", versionId: v3)
        #expect(try await engine.text("bucket", "k") == "one")
        #expect(try await allVersions(engine, pageSize: 10).names == ["k@\(v1)*"])
    }

    @Test func suspendedWritesReplaceTheNullVersionOnly() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.put("bucket", "k", "before")  // the null version of an unversioned bucket
        try await engine.setVersioning("bucket", .enabled)
        let v1 = try #require(try await engine.put("bucket", "k", "enabled").versionId)
        try await engine.setVersioning("bucket", .suspended)
        let n1 = try await engine.put("bucket", "k", "suspended 1")
        #expect(n1.versionId == "null")
        #expect(try await allVersions(engine, pageSize: 10).names == ["k@null*", "k@\(v1)"])
        let n2 = try await engine.put("bucket", "k", "suspended 2")
        #expect(n2.versionId == "null")
        #expect(try await allVersions(engine, pageSize: 10).names == ["k@null*", "k@\(v1)"])
        #expect(try await text(engine, "k", version: "null") == "suspended 2")
        #expect(try await text(engine, "k", version: v1) == "enabled")
        #expect(try store.directory.blobFiles().count == 2)  // "before" and "suspended 1" are gone

        // A DELETE adds a null delete marker in place of the null version.
        let marker = try await engine.delete(bucket: "bucket", key: "k", versionId: nil)
        #expect(marker == DeleteOutcome(removed: true, versionId: "null", isDeleteMarker: true))
        #expect(try await allVersions(engine, pageSize: 10).names == ["k@null-*", "k@\(v1)"])
        #expect(try store.directory.blobFiles().count == 1)
    }

    @Test func listingVersionsPagesInS3Order() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.put("bucket", "a", "null one")
        try await engine.setVersioning("bucket", .enabled)
        let a1 = try #require(try await engine.put("bucket", "a", "a1").versionId)
        let b1 = try #require(try await engine.put("bucket", "b", "b1").versionId)
        let bm = try #require(try await engine.delete(bucket: "bucket", key: "b", versionId: nil).versionId)
        let c1 = try #require(try await engine.put("bucket", "d/c", "c1").versionId)
        let c2 = try #require(try await engine.put("bucket", "d/c", "c2").versionId)
        let e1 = try #require(try await engine.put("bucket", "d/e", "e1").versionId)
        let expected = ["a@\(a1)*", "a@null", "b@\(bm)-*", "b@\(b1)", "d/c@\(c2)*", "d/c@\(c1)", "d/e@\(e1)*"]
        for size in [1, 2, 3, 7, 100] {
            let (names, pages) = try await allVersions(engine, pageSize: size)
            #expect(names == expected, "page size \(size)")
            #expect(pages == (expected.count + size - 1) / size, "page size \(size)")
        }
        #expect(try await allVersions(engine, prefix: "d/", pageSize: 1).names == ["d/c@\(c2)*", "d/c@\(c1)", "d/e@\(e1)*"])
        #expect(try await allVersions(engine, delimiter: "/", pageSize: 1).names == ["a@\(a1)*", "a@null", "b@\(bm)-*", "b@\(b1)", "d/"])
        await expectStoreError(.invalidArgument) {
            try await engine.listVersions(bucket: "bucket", prefix: "", delimiter: nil, keyMarker: nil, versionIdMarker: a1, maxKeys: 1)
        }
        // ListObjects still shows only the latest objects that are not delete markers.
        #expect(try await engine.allNames("bucket", pageSize: 1).names == ["a", "d/c", "d/e"])
    }

    @Test func copyFromAnOlderVersion() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setVersioning("bucket", .enabled)
        let v1 = try #require(try await engine.put("bucket", "k", "one").versionId)
        try await engine.put("bucket", "k", "two")
        let copy = try await engine.copy(fromBucket: "bucket", fromKey: "k", fromVersionId: v1, toBucket: "bucket", toKey: "k", metadata: nil)
        #expect(copy.versionId != nil && copy.versionId != v1)
        #expect(try await engine.text("bucket", "k") == "one")
        let marker = try #require(try await engine.delete(bucket: "bucket", key: "k", versionId: nil).versionId)
        await expectStoreError(.invalidRequest) {
            try await engine.copy(fromBucket: "bucket", fromKey: "k", fromVersionId: marker, toBucket: "bucket", toKey: "x", metadata: nil)
        }
        await expectStoreError(.noSuchKey) {
            try await engine.copy(fromBucket: "bucket", fromKey: "k", toBucket: "bucket", toKey: "x", metadata: nil)
        }
    }

    @Test func multipartCompletionAddsAVersion() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setVersioning("bucket", .enabled)
        let v1 = try #require(try await engine.put("bucket", "k", "small").versionId)
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "k", metadata: ObjectMetadata())
        let part = try await StorageEngineMultipartTests.upload(engine, upload, part: 1, Array("assembled".utf8))
        let info = try await engine.completeMultipartUpload(bucket: "bucket", key: "k", uploadId: upload.uploadId,
                                                      parts: [CompletedPart(partNumber: 1, etag: part.etag)])
        let v2 = try #require(info.versionId)
        #expect(v2 != v1)
        #expect(try await engine.text("bucket", "k") == "assembled")
        #expect(try await text(engine, "k", version: v1) == "small")
        #expect(try await allVersions(engine, pageSize: 10).names == ["k@\(v2)*", "k@\(v1)"])
    }

    @Test func eventsCarryVersionIds() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setNotificationConfiguration("bucket", NotificationConfiguration(queues: [
            .init(id: "w", queueARN: "arn:aws:sqs:us-east-1:000000000000:q", events: ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]),
        ]))
        try await engine.setVersioning("bucket", .enabled)
        let v1 = try #require(try await engine.put("bucket", "k", "one").versionId)
        let marker = try #require(try await engine.delete(bucket: "bucket", key: "k", versionId: nil).versionId)
        _ = try await engine.delete(bucket: "bucket", key: "k", versionId: v1)
        let queue = engine.outbox(queue: "q")
        var records: [S3EventNotification.Record] = []
        for message in try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30) {
            guard let notification = S3EventNotification.decode(message.body) else { continue }
            records += notification.records
        }
        #expect(records.map(\.eventName) == ["ObjectCreated:Put", "ObjectRemoved:DeleteMarkerCreated", "ObjectRemoved:Delete"])
        #expect(records.map(\.s3.object.versionId) == [v1, marker, v1])
    }

    @Test func lifecycleExpirationAddsADeleteMarkerInAVersionedBucket() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setVersioning("bucket", .enabled)
        let v1 = try #require(try await engine.put("bucket", "old", "x").versionId)
        store.clock.advance(by: 10 * 86_400)
        #expect(try await engine.expireObjects(bucket: "bucket", prefix: "", modifiedBefore: store.clock.now - 86_400) == 1)
        await expectStoreError(.noSuchKey) { try await engine.head(bucket: "bucket", key: "old") }
        #expect(try await text(engine, "old", version: v1) == "x")
        // The marker itself does not expire again.
        #expect(try await engine.expireObjects(bucket: "bucket", prefix: "", modifiedBefore: store.clock.now + 86_400) == 0)
    }

    @Test func removingASegmentedVersionRemovesItsFiles() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let parts = [[UInt8](repeating: 1, count: 5 * 1024 * 1024), [UInt8](repeating: 2, count: 5 * 1024 * 1024), [3, 3, 3]]
        try await engine.setVersioning("bucket", .enabled)
        let v1 = try #require(try await engine.putMultipart("bucket", "k", parts).versionId)
        let v2 = try #require(try await engine.put("bucket", "k", "small").versionId)
        #expect(try store.directory.blobFiles().count == 4)
        #expect(try await engine.delete(bucket: "bucket", key: "k", versionId: nil).isDeleteMarker)
        #expect(try store.directory.blobFiles().count == 4, "a delete marker removes nothing")
        #expect(try await engine.delete(bucket: "bucket", key: "k", versionId: v1).removed)
        #expect(try store.directory.blobFiles().count == 1, "the segmented version's three files are gone")
        #expect(try await text(engine, "k", version: v2) == "small")

        // Suspended: replacing the null version, by a write or a delete marker, removes its segments.
        try await engine.setVersioning("bucket", .suspended)
        try await engine.putMultipart("bucket", "n", parts)
        #expect(try store.directory.blobFiles().count == 4)
        try await engine.put("bucket", "n", "x")
        #expect(try store.directory.blobFiles().count == 2)
        try await engine.putMultipart("bucket", "n", parts)
        #expect(try store.directory.blobFiles().count == 4)
        #expect(try await engine.bytes("bucket", "n") == Array(parts.joined()))
        #expect(try await engine.delete(bucket: "bucket", key: "n", versionId: nil).isDeleteMarker)
        #expect(try store.directory.blobFiles().count == 1)
    }
}
