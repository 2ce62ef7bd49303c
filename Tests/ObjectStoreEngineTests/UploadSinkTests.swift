import Foundation
import Testing
@testable import ObjectStoreEngine

@Suite struct UploadSinkTests {
    @Test func hashesAsBytesArrive() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let sink = try await store.engine.beginUpload(bucket: "bucket")
        let empty = try await sink.digests()
        #expect(empty.md5Hex == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(empty.sha256Hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for chunk in ["a", "", "b", "c"] {
            try await sink.write(Array(chunk.utf8))
        }
        #expect(sink.size == 3)
        #expect(try await sink.digests().md5Hex == "900150983cd24fb0d6963f7d28e17f72")
        // Asking for the digests does not end the upload.
        try await sink.write(Array("d".utf8))
        #expect(sink.size == 4)
        #expect(try await sink.digests().md5Hex == "e2fc714c4727ee9395f324cd2e7f331f")  // MD5("abcd")
        let info = try await store.engine.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata())
        #expect(info.etag == "e2fc714c4727ee9395f324cd2e7f331f")
        #expect(info.size == 4)
    }

    @Test func writesGoStraightToTheTemporaryFile() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let sink = try await store.engine.beginUpload(bucket: "bucket")
        #expect(try store.directory.tmpFiles() == [sink.blobName])
        // A full block goes to the file as soon as it is drained; the rest once the digests are asked for.
        try await sink.write([UInt8](repeating: 7, count: BlockPipeline.blockSize + 1000))
        _ = try await sink.digests()
        let onDisk = try FileManager.default.attributesOfItem(atPath: sink.tmpPath)[.size] as? Int
        #expect(onDisk == BlockPipeline.blockSize + 1000)
        await store.engine.abort(sink)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func usedUpAfterCommitOrAbort() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine

        let committed = try await engine.beginUpload(bucket: "bucket")
        _ = try await engine.commit(committed, bucket: "bucket", key: "a", metadata: ObjectMetadata())
        await expectStoreError(.invalidArgument) { try await committed.write([1]) }
        await expectStoreError(.invalidArgument) { try await engine.commit(committed, bucket: "bucket", key: "b", metadata: ObjectMetadata()) }
        await engine.abort(committed)  // harmless after a commit
        #expect(try await engine.text("bucket", "a") == "")

        let aborted = try await engine.beginUpload(bucket: "bucket")
        await engine.abort(aborted)
        await engine.abort(aborted)
        await expectStoreError(.invalidArgument) { try await aborted.write([1]) }
        await expectStoreError(.invalidArgument) { try await engine.commit(aborted, bucket: "bucket", key: "c", metadata: ObjectMetadata()) }
        await expectStoreError(.noSuchKey) { try await engine.head(bucket: "bucket", key: "c") }
        #expect(try store.directory.tmpFiles().isEmpty)
        #expect(try store.directory.blobFiles().count == 1)
    }

    @Test func droppedSinkRemovesItsFile() async throws {
        let store = try await TestStore()
        defer { store.close() }
        do {
            let sink = try await store.engine.beginUpload(bucket: "bucket")
            try await sink.write([1, 2, 3])
            #expect(try store.directory.tmpFiles().count == 1)
        }
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func failedCommitRemovesTheUpload() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let failures: [(String, String, StoreError.Code)] = [
            ("bucket", "", .invalidArgument),
            ("bucket", String(repeating: "k", count: 1025), .keyTooLong),
            ("missing", "k", .noSuchBucket),
        ]
        for (bucket, key, code) in failures {
            let sink = try await engine.beginUpload(bucket: "bucket")
            try await sink.write([1, 2, 3])
            await expectStoreError(code) { try await engine.commit(sink, bucket: bucket, key: key, metadata: ObjectMetadata()) }
            #expect(try store.directory.tmpFiles().isEmpty)
            #expect(try store.directory.blobFiles().isEmpty)
        }
    }

    @Test func checksumMustMatchTheBytes() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let bytes = Array("hello".utf8)
        let wrong = ObjectMetadata(checksumSHA256: "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        await expectStoreError(.invalidArgument) { try await store.engine.put("bucket", "k", bytes, metadata: wrong) }
        #expect(try store.directory.blobFiles().isEmpty)
        // SHA-256("hello") in base64.
        let right = ObjectMetadata(checksumSHA256: "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        let info = try await store.engine.put("bucket", "k", bytes, metadata: right)
        #expect(info.metadata.checksumSHA256 == right.checksumSHA256)
    }

    @Test func sinkOfAnotherStoreIsRefused() async throws {
        let one = try await TestStore()
        let two = try await TestStore()
        defer { one.close(); two.close() }
        let sink = try await one.engine.beginUpload(bucket: "bucket")
        await expectStoreError(.invalidArgument) { try await two.engine.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata()) }
        // Still usable where it belongs.
        _ = try await one.engine.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata())
        #expect(try await one.engine.head(bucket: "bucket", key: "k").size == 0)
    }
}
