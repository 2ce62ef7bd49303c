import Foundation
import Testing
@testable import ObjectStoreEngine

@Suite struct UploadSinkTests {
    @Test func hashesAsBytesArrive() throws {
        let store = try TestStore()
        defer { store.close() }
        let sink = try store.engine.beginUpload(bucket: "bucket")
        let empty = sink.digests()
        #expect(empty.md5Hex == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(empty.sha256Hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        for chunk in ["a", "", "b", "c"] {
            try Array(chunk.utf8).withUnsafeBytes { try sink.write($0) }
        }
        #expect(sink.size == 3)
        #expect(sink.digests().md5Hex == "900150983cd24fb0d6963f7d28e17f72")
        // Asking for the digests does not end the upload.
        try Array("d".utf8).withUnsafeBytes { try sink.write($0) }
        #expect(sink.size == 4)
        #expect(sink.digests().md5Hex == "e2fc714c4727ee9395f324cd2e7f331f")  // MD5("abcd")
        let info = try store.engine.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata())
        #expect(info.etag == "e2fc714c4727ee9395f324cd2e7f331f")
        #expect(info.size == 4)
    }

    @Test func writesGoStraightToTheTemporaryFile() throws {
        let store = try TestStore()
        defer { store.close() }
        let sink = try store.engine.beginUpload(bucket: "bucket")
        #expect(try store.directory.tmpFiles() == [sink.blobName])
        try [UInt8](repeating: 7, count: 1000).withUnsafeBytes { try sink.write($0) }
        let onDisk = try FileManager.default.attributesOfItem(atPath: sink.tmpPath)[.size] as? Int
        #expect(onDisk == 1000)
        store.engine.abort(sink)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func usedUpAfterCommitOrAbort() throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine

        let committed = try engine.beginUpload(bucket: "bucket")
        _ = try engine.commit(committed, bucket: "bucket", key: "a", metadata: ObjectMetadata())
        expectStoreError(.invalidArgument) { try ([1] as [UInt8]).withUnsafeBytes { try committed.write($0) } }
        expectStoreError(.invalidArgument) { try engine.commit(committed, bucket: "bucket", key: "b", metadata: ObjectMetadata()) }
        engine.abort(committed)  // harmless after a commit
        #expect(try engine.text("bucket", "a") == "")

        let aborted = try engine.beginUpload(bucket: "bucket")
        engine.abort(aborted)
        engine.abort(aborted)
        expectStoreError(.invalidArgument) { try ([1] as [UInt8]).withUnsafeBytes { try aborted.write($0) } }
        expectStoreError(.invalidArgument) { try engine.commit(aborted, bucket: "bucket", key: "c", metadata: ObjectMetadata()) }
        expectStoreError(.noSuchKey) { try engine.head(bucket: "bucket", key: "c") }
        #expect(try store.directory.tmpFiles().isEmpty)
        #expect(try store.directory.blobFiles().count == 1)
    }

    @Test func droppedSinkRemovesItsFile() throws {
        let store = try TestStore()
        defer { store.close() }
        do {
            let sink = try store.engine.beginUpload(bucket: "bucket")
            try ([1, 2, 3] as [UInt8]).withUnsafeBytes { try sink.write($0) }
            #expect(try store.directory.tmpFiles().count == 1)
        }
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func failedCommitRemovesTheUpload() throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine
        let failures: [(String, String, StoreError.Code)] = [
            ("bucket", "", .invalidArgument),
            ("bucket", String(repeating: "k", count: 1025), .keyTooLong),
            ("missing", "k", .noSuchBucket),
        ]
        for (bucket, key, code) in failures {
            let sink = try engine.beginUpload(bucket: "bucket")
            try ([1, 2, 3] as [UInt8]).withUnsafeBytes { try sink.write($0) }
            expectStoreError(code) { try engine.commit(sink, bucket: bucket, key: key, metadata: ObjectMetadata()) }
            #expect(try store.directory.tmpFiles().isEmpty)
            #expect(try store.directory.blobFiles().isEmpty)
        }
    }

    @Test func checksumMustMatchTheBytes() throws {
        let store = try TestStore()
        defer { store.close() }
        let bytes = Array("hello".utf8)
        let wrong = ObjectMetadata(checksumSHA256: "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        expectStoreError(.invalidArgument) { try store.engine.put("bucket", "k", bytes, metadata: wrong) }
        #expect(try store.directory.blobFiles().isEmpty)
        // SHA-256("hello") in base64.
        let right = ObjectMetadata(checksumSHA256: "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        let info = try store.engine.put("bucket", "k", bytes, metadata: right)
        #expect(info.metadata.checksumSHA256 == right.checksumSHA256)
    }

    @Test func sinkOfAnotherStoreIsRefused() throws {
        let one = try TestStore()
        let two = try TestStore()
        defer { one.close(); two.close() }
        let sink = try one.engine.beginUpload(bucket: "bucket")
        expectStoreError(.invalidArgument) { try two.engine.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata()) }
        // Still usable where it belongs.
        _ = try one.engine.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata())
        #expect(try one.engine.head(bucket: "bucket", key: "k").size == 0)
    }
}
