import Foundation
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineRecoveryTests {
    @Test func reopeningRemovesCrashLeftovers() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = TestClock()
        var engine: StorageEngine? = try StorageEngine(directory: directory.url, clock: clock.function)
        try await engine?.createBucket("bucket")
        try await engine?.put("bucket", "kept", "safe")
        let keptBlobs = try directory.blobFiles()
        #expect(keptBlobs.count == 1)

        // What a crash leaves: a half-written upload in tmp, a blob renamed in
        // but never indexed, and a replaced blob whose removal never happened.
        let orphan = StoreLayout.newBlobName()
        let orphanPath = directory.path + "/blobs/" + orphan.prefix(2) + "/" + orphan
        try Data("orphan".utf8).write(to: URL(fileURLWithPath: orphanPath))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: directory.path + "/tmp/" + StoreLayout.newBlobName()))
        try Data("junk".utf8).write(to: URL(fileURLWithPath: directory.path + "/tmp/whatever.part"))
        #expect(try directory.blobFiles().count == 2)
        #expect(try directory.tmpFiles().count == 2)

        engine = nil
        engine = try StorageEngine(directory: directory.url, clock: clock.function)
        #expect(try directory.tmpFiles().isEmpty)
        #expect(try directory.blobFiles() == keptBlobs)
        #expect(try await engine?.text("bucket", "kept") == "safe")
    }

    @Test func uncommittedUploadIsNeverVisible() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var engine: StorageEngine? = try StorageEngine(directory: directory.url)
        try await engine?.createBucket("bucket")
        let sink = try #require(try await engine?.beginUpload(bucket: "bucket"))
        try await sink.write([UInt8](repeating: 9, count: 10_000))

        // Before the commit, nothing shows.
        await expectStoreError(.noSuchKey) { try await engine?.head(bucket: "bucket", key: "k") }
        #expect(try await engine?.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: 10).entries.isEmpty == true)

        // The process "crashes" with the upload open: the next start removes it.
        engine = nil
        #expect(try directory.tmpFiles().count == 1)
        engine = try StorageEngine(directory: directory.url)
        #expect(try directory.tmpFiles().isEmpty)
        await expectStoreError(.noSuchKey) { try await engine?.head(bucket: "bucket", key: "k") }
        // The stale sink cannot publish anything.
        await #expect(throws: StoreError.self) { try await engine?.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata()) }
        await expectStoreError(.noSuchKey) { try await engine?.head(bucket: "bucket", key: "k") }
        #expect(try directory.blobFiles().isEmpty)
    }

    @Test func indexedBlobsSurviveReopening() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let engine = try StorageEngine(directory: directory.url)
            try await engine.createBucket("bucket")
            for index in 0..<20 { try await engine.put("bucket", "k\(index)", "v\(index)") }
            _ = try await engine.copy(fromBucket: "bucket", fromKey: "k0", toBucket: "bucket", toKey: "copy", metadata: nil)
            #expect(try await engine.delete(bucket: "bucket", key: "k0"))
        }
        let engine = try StorageEngine(directory: directory.url)
        #expect(try directory.blobFiles().count == 20)
        for index in 1..<20 { #expect(try await engine.text("bucket", "k\(index)") == "v\(index)") }
        #expect(try await engine.text("bucket", "copy") == "v0")
    }

    @Test func segmentsSurviveReopeningAndOrphansDoNot() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let parts = [pseudoRandomBytes(5 * 1024 * 1024, seed: 1), pseudoRandomBytes(5 * 1024 * 1024, seed: 2), pseudoRandomBytes(10, seed: 3)]
        let whole = Array(parts.joined())
        var kept: Set<String> = []
        do {
            let engine = try StorageEngine(directory: directory.url)
            try await engine.createBucket("bucket")
            try await engine.putMultipart("bucket", "big", parts)
            _ = try await engine.copy(fromBucket: "bucket", fromKey: "big", toBucket: "bucket", toKey: "copy", metadata: nil)
            try await engine.put("bucket", "small", "s")
            let pending = try await engine.createMultipartUpload(bucket: "bucket", key: "pending", metadata: ObjectMetadata())
            let sink = try await engine.beginUpload(bucket: "bucket")
            try await sink.write([UInt8](repeating: 1, count: 10))
            _ = try await engine.commitPart(sink, bucket: "bucket", key: "pending", uploadId: pending.uploadId, partNumber: 1)
            kept = try directory.blobNames()
            #expect(kept.count == 5, "three segments, a blob and a part")
        }
        // Orphans as a crash leaves them: a blob renamed in but never indexed, in the shard of a segment too.
        let segment = try #require(kept.sorted().first)
        for orphan in [StoreLayout.newBlobName(), String(segment.prefix(2)) + StoreLayout.newBlobName().dropFirst(2)] {
            try Data("orphan".utf8).write(to: URL(fileURLWithPath: directory.blobPath(orphan)))
        }
        #expect(try directory.blobFiles().count == 7)

        let engine = try StorageEngine(directory: directory.url)
        #expect(try directory.blobNames() == kept, "every segment is kept, the orphans are gone")
        #expect(try await engine.bytes("bucket", "big") == whole)
        #expect(try await engine.bytes("bucket", "copy") == whole)
        #expect(try await engine.text("bucket", "small") == "s")
    }
}
