import Crypto
import Foundation
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineObjectsTests {
    // MARK: Put, get, head, delete

    @Test func putGetHeadDelete() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let metadata = ObjectMetadata(
            contentType: "image/png",
            cacheControl: "max-age=60",
            contentDisposition: "inline",
            contentEncoding: "identity",
            contentLanguage: "en",
            expires: "Thu, 01 Dec 1994 16:00:00 GMT",
            userMetadata: ["article": "42", "note": "ünïcödé"],
            checksumSHA256: nil
        )
        let info = try await engine.put("bucket", "photos/cat.png", Array("hello".utf8), metadata: metadata)
        let expected = ObjectInfo(
            bucket: "bucket",
            key: "photos/cat.png",
            size: 5,
            etag: "5d41402abc4b2a76b9719d911017c592",
            lastModified: Date(timeIntervalSince1970: 1_735_787_045),  // whole seconds
            metadata: metadata
        )
        #expect(info == expected)
        #expect(try await engine.head(bucket: "bucket", key: "photos/cat.png") == expected)
        let (opened, reader) = try await engine.open(bucket: "bucket", key: "photos/cat.png")
        #expect(opened == expected)
        #expect(try await reader.read(offset: 0, count: 100) == Array("hello".utf8))
        reader.close()

        #expect(try await engine.delete(bucket: "bucket", key: "photos/cat.png"))
        #expect(try await engine.delete(bucket: "bucket", key: "photos/cat.png") == false)
        await expectStoreError(.noSuchKey) { try await engine.head(bucket: "bucket", key: "photos/cat.png") }
        await expectStoreError(.noSuchKey) { try await engine.open(bucket: "bucket", key: "photos/cat.png") }
        #expect(try store.directory.blobFiles().isEmpty)
    }

    @Test func missingBucket() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        await expectStoreError(.noSuchBucket) { try await engine.beginUpload(bucket: "nope") }
        await expectStoreError(.noSuchBucket) { try await engine.head(bucket: "nope", key: "k") }
        await expectStoreError(.noSuchBucket) { try await engine.open(bucket: "nope", key: "k") }
        await expectStoreError(.noSuchBucket) { try await engine.delete(bucket: "nope", key: "k") }
        await expectStoreError(.noSuchBucket) { try await engine.list(bucket: "nope", prefix: "", delimiter: nil, after: nil, maxKeys: 10) }
        await expectStoreError(.noSuchBucket) { try await engine.copy(fromBucket: "nope", fromKey: "k", toBucket: "bucket", toKey: "k", metadata: nil) }
    }

    @Test func emptyObject() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let info = try await store.engine.put("bucket", "empty", [])
        #expect(info.size == 0)
        #expect(info.etag == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(try await store.engine.bytes("bucket", "empty") == [])
    }

    @Test func largeObjectStreamsInChunks() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let sink = try await store.engine.beginUpload(bucket: "bucket")
        var md5 = Insecure.MD5()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        for index in 0..<128 {  // 8 MiB
            for offset in stride(from: 0, to: chunk.count, by: 4096) { chunk[offset] = UInt8(truncatingIfNeeded: index &+ offset) }
            md5.update(data: chunk)
            try await sink.write([UInt8](chunk))
        }
        let info = try await store.engine.commit(sink, bucket: "bucket", key: "big", metadata: ObjectMetadata())
        #expect(info.size == 8 * 1024 * 1024)
        #expect(info.etag == md5.finalize().map { String(format: "%02x", $0) }.joined())
        let (_, reader) = try await store.engine.open(bucket: "bucket", key: "big")
        defer { reader.close() }
        var readBack = Insecure.MD5()
        var offset: Int64 = 0
        while offset < reader.size {
            let bytes = try await reader.read(offset: offset, count: 100_000)
            readBack.update(data: bytes)
            offset += Int64(bytes.count)
        }
        #expect(readBack.finalize().map { String(format: "%02x", $0) }.joined() == info.etag)
    }

    @Test func overwriteFreesTheOldBlob() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.put("bucket", "k", "one")
        #expect(try store.directory.blobFiles().count == 1)
        store.clock.advance(by: 5)
        let second = try await engine.put("bucket", "k", "two!")
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try await engine.text("bucket", "k") == "two!")
        #expect(second.lastModified == Date(timeIntervalSince1970: 1_735_787_050))
        #expect(try await engine.head(bucket: "bucket", key: "k") == second)
        for index in 0..<5 { try await engine.put("bucket", "k", "v\(index)") }
        #expect(try store.directory.blobFiles().count == 1)
        try await engine.put("bucket", "other", "x")
        #expect(try store.directory.blobFiles().count == 2)
    }

    // MARK: Keys

    static let awkwardKeys = [
        "/", "//", "a", "a/", "a/b", "a/b/", "a//b", "..", "../..", "./a", "a/../b", "%", "%2F", "a%20b", "+", "a+b",
        " ", " leading", "trailing ", "tab\there", "new\nline", "emoji 🦄/🐈", "中文/キー", "ünïcödé", "Ω≈ç√",
        "back\\slash", "q?uery&x=y#frag", "<xml>&amp;", "\"quoted\"", "'single'", "*", "~user", "CON", "nul.txt",
        String(repeating: "/", count: 100), "\u{7F}", "\u{1}", "a\u{301}", "á",
    ]

    @Test func awkwardKeysRoundTrip() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        for key in Self.awkwardKeys {
            try await engine.put("bucket", key, "value of \(key)")
        }
        for key in Self.awkwardKeys {
            #expect(try await engine.text("bucket", key) == "value of \(key)", "\(key)")
            #expect(try await engine.head(bucket: "bucket", key: key).key == key)
        }
        // "a\u{301}" and "á" are canonically equivalent Strings but different bytes: two objects.
        // (Swift's == calls them equal, so compare the bytes.)
        #expect(Array(try await engine.text("bucket", "a\u{301}").utf8) == Array("value of a\u{301}".utf8))
        #expect(Array(try await engine.text("bucket", "á").utf8) == Array("value of á".utf8))
        let listed = try await engine.allNames("bucket", pageSize: 1000).names
        #expect(listed == Self.awkwardKeys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(Set(try store.directory.blobFiles()).count == Self.awkwardKeys.count)
        for key in Self.awkwardKeys {
            #expect(try await engine.delete(bucket: "bucket", key: key))
        }
        #expect(try store.directory.blobFiles().isEmpty)
    }

    @Test func keyLengths() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let longest = String(repeating: "k", count: 1022) + "é"  // 1024 bytes, 1023 characters
        #expect(longest.utf8.count == 1024)
        try await engine.put("bucket", longest, "ok")
        #expect(try await engine.text("bucket", longest) == "ok")
        let tooLong = String(repeating: "k", count: 1023) + "é"  // 1025 bytes
        await expectStoreError(.keyTooLong) { try await engine.put("bucket", tooLong, "no") }
        await expectStoreError(.keyTooLong) { try await engine.head(bucket: "bucket", key: tooLong) }
        await expectStoreError(.invalidArgument) { try await engine.put("bucket", "", "no") }
        await expectStoreError(.invalidArgument) { try await engine.head(bucket: "bucket", key: "") }
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    // MARK: Copy

    @Test func copyKeepsBytesAndETagWithANewDate() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.createBucket("other")
        let metadata = ObjectMetadata(contentType: "text/plain", userMetadata: ["a": "1"])
        let source = try await engine.put("bucket", "src", Array("payload".utf8), metadata: metadata)
        store.clock.advance(by: 60)

        let kept = try await engine.copy(fromBucket: "bucket", fromKey: "src", toBucket: "other", toKey: "dst", metadata: nil)
        #expect(kept.etag == source.etag)
        #expect(kept.size == source.size)
        #expect(kept.metadata == metadata)
        #expect(kept.lastModified == source.lastModified.addingTimeInterval(60))
        #expect(try await engine.head(bucket: "other", key: "dst") == kept)
        #expect(try await engine.text("other", "dst") == "payload")
        // The copy shares the immutable blob.
        #expect(try store.directory.blobFiles().count == 1)

        let replaced = ObjectMetadata(contentType: "application/octet-stream")
        let copy2 = try await engine.copy(fromBucket: "bucket", fromKey: "src", toBucket: "bucket", toKey: "src", metadata: replaced)
        #expect(copy2.metadata == replaced)
        #expect(try await engine.head(bucket: "bucket", key: "src").metadata == replaced)

        // Deleting or overwriting the source leaves the copy intact; the blob goes with its last reference.
        #expect(try await engine.delete(bucket: "bucket", key: "src"))
        #expect(try await engine.text("other", "dst") == "payload")
        #expect(try store.directory.blobFiles().count == 1)
        try await engine.put("other", "dst", "new")
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try await engine.text("other", "dst") == "new")
    }

    @Test func copyErrors() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.put("bucket", "src", "x")
        await expectStoreError(.noSuchKey) { try await engine.copy(fromBucket: "bucket", fromKey: "nope", toBucket: "bucket", toKey: "d", metadata: nil) }
        await expectStoreError(.noSuchBucket) { try await engine.copy(fromBucket: "bucket", fromKey: "src", toBucket: "nope", toKey: "d", metadata: nil) }
        await expectStoreError(.keyTooLong) {
            try await engine.copy(fromBucket: "bucket", fromKey: "src", toBucket: "bucket", toKey: String(repeating: "x", count: 1025), metadata: nil)
        }
    }

    @Test func copyCarriesTheChecksum() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let checksum = "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="  // SHA-256("hello")
        try await engine.put("bucket", "src", Array("hello".utf8), metadata: ObjectMetadata(checksumSHA256: checksum))
        let copy = try await engine.copy(fromBucket: "bucket", fromKey: "src", toBucket: "bucket", toKey: "dst", metadata: ObjectMetadata(contentType: "text/plain"))
        #expect(copy.metadata == ObjectMetadata(contentType: "text/plain", checksumSHA256: checksum))
        await expectStoreError(.invalidArgument) {
            try await engine.copy(fromBucket: "bucket", fromKey: "src", toBucket: "bucket", toKey: "bad", metadata: ObjectMetadata(checksumSHA256: "AAAA"))
        }
        // A checksum given with the copy is checked against the bytes even when the source had none.
        try await engine.put("bucket", "plain", "hello")
        let vouched = try await engine.copy(fromBucket: "bucket", fromKey: "plain", toBucket: "bucket", toKey: "v", metadata: ObjectMetadata(checksumSHA256: checksum))
        #expect(vouched.metadata.checksumSHA256 == checksum)
    }

    // MARK: Conditions

    @Test func ifNoneMatchAny() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.put("bucket", "k", "first", condition: .ifNoneMatchAny)
        await expectStoreError(.preconditionFailed) { try await engine.put("bucket", "k", "second", condition: .ifNoneMatchAny) }
        #expect(try await engine.text("bucket", "k") == "first")
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try store.directory.tmpFiles().isEmpty)
        #expect(try await engine.delete(bucket: "bucket", key: "k"))
        try await engine.put("bucket", "k", "third", condition: .ifNoneMatchAny)
        #expect(try await engine.text("bucket", "k") == "third")
    }

    @Test func ifMatch() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        await expectStoreError(.preconditionFailed) { try await engine.put("bucket", "k", "x", condition: .ifMatch("*")) }
        let first = try await engine.put("bucket", "k", "first")
        await expectStoreError(.preconditionFailed) { try await engine.put("bucket", "k", "x", condition: .ifMatch("0123456789abcdef0123456789abcdef")) }
        let second = try await engine.put("bucket", "k", "second", condition: .ifMatch(first.etag))
        try await engine.put("bucket", "k", "third", condition: .ifMatch("\"\(second.etag.uppercased())\""))  // quoted, any case
        try await engine.put("bucket", "k", "fourth", condition: .ifMatch("*"))
        #expect(try await engine.text("bucket", "k") == "fourth")
        #expect(try store.directory.blobFiles().count == 1)
    }

    // MARK: Readers and writers

    @Test func readerSurvivesOverwriteAndDelete() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let original = [UInt8](repeating: 1, count: 100_000)
        try await engine.put("bucket", "k", original)
        let (info, reader) = try await engine.open(bucket: "bucket", key: "k")
        defer { reader.close() }
        #expect(try await reader.read(offset: 0, count: 10) == [UInt8](repeating: 1, count: 10))
        try await engine.put("bucket", "k", [UInt8](repeating: 2, count: 50))
        #expect(try store.directory.blobFiles().count == 1)  // the old blob is unlinked…
        #expect(try await reader.read(offset: 0, count: 200_000) == original)  // …yet still readable
        #expect(try await engine.delete(bucket: "bucket", key: "k"))
        #expect(try await reader.read(offset: 99_990, count: 10) == [UInt8](repeating: 1, count: 10))
        #expect(info.size == 100_000)
    }

    @Test func commitToADeletedBucketLeavesNothing() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let sink = try await engine.beginUpload(bucket: "bucket")
        try await sink.write(Array("late".utf8))
        try await engine.deleteBucket("bucket")
        await expectStoreError(.noSuchBucket) { try await engine.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata()) }
        #expect(try store.directory.blobFiles().isEmpty)
        #expect(try store.directory.tmpFiles().isEmpty)
    }
}
