import Foundation
import Testing
@testable import ObjectStoreEngine

/// Encryption at rest (SSE-S3): objects' files hold no plaintext, read back exactly, in any
/// range, and a damaged file is an error, never wrong bytes.
@Suite("Storage engine: encryption at rest")
struct StorageEngineEncryptionTests {
    /// Recognisable plaintext: a phrase repeated, with a counter so no chunk equals another.
    static func plaintext(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 64)
        var line = 0
        while bytes.count < count {
            bytes += Array("PLAINTEXT-MARKER line \(line) of the secret photo;".utf8)
            line += 1
        }
        return Array(bytes.prefix(count))
    }

    /// Whether `haystack` contains `needle`.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count, let first = needle.first else { return false }
        var index = haystack.startIndex
        while let found = haystack[index...].firstIndex(of: first) {
            if found + needle.count > haystack.count { return false }
            if Array(haystack[found..<(found + needle.count)]) == needle { return true }
            index = found + 1
        }
        return false
    }

    static func encryptedPut(_ engine: StorageEngine, _ key: String, _ bytes: [UInt8]) async throws -> ObjectInfo {
        let sink = try await engine.beginUpload(bucket: "bucket", serverSideEncryption: true)
        #expect(sink.isEncrypted)
        try await sink.write(bytes)
        return try await engine.commit(sink, bucket: "bucket", key: key, metadata: ObjectMetadata(contentType: "image/jpeg"))
    }

    @Test("objects of every size around the chunk and block boundaries read back exactly; their files hold no plaintext",
          arguments: [0, 1, 65_535, 65_536, 65_537, 262_144, 262_145, 1_048_676])
    func roundTrip(size: Int) async throws {
        let store = try await TestStore()
        defer { store.close() }
        let bytes = Self.plaintext(size)
        let info = try await Self.encryptedPut(store.engine, "photo.jpg", bytes)
        #expect(info.size == Int64(size))
        #expect(info.metadata.serverSideEncryption == "AES256")
        #expect(info.etag == StorageEngineMultipartTests.md5Hex(bytes))
        #expect(try await store.engine.head(bucket: "bucket", key: "photo.jpg").metadata.serverSideEncryption == "AES256")
        #expect(try await store.engine.bytes("bucket", "photo.jpg") == bytes)

        let files = try store.directory.blobFiles()
        #expect(files.count == 1)
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: store.directory.url.path + "/blobs/" + files[0])))
        #expect(Int64(raw.count) == BlobKey.fileSize(plainSize: Int64(size)))
        #expect(!Self.contains(raw, Array("PLAINTEXT-MARKER".utf8)))
    }

    @Test("ranged reads decrypt only what they touch and match the plaintext at every offset")
    func rangedReads() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let bytes = Self.plaintext(300_000)
        try await Self.encryptedPut(store.engine, "k", bytes)
        let (_, reader) = try await store.engine.open(bucket: "bucket", key: "k")
        defer { reader.close() }
        let cases: [(Int, Int)] = [(0, 1), (0, 65_536), (65_535, 2), (65_536, 65_536), (100_000, 150_000),
                                   (299_999, 1), (299_990, 100), (131_072, 0), (12_345, 200_000), (300_000, 10)]
        for (offset, count) in cases {
            let got = try await reader.read(offset: Int64(offset), count: count)
            let end = min(bytes.count, offset + count)
            #expect(got == Array(bytes[min(offset, end)..<end]), "offset \(offset) count \(count)")
        }
    }

    @Test("a flipped byte anywhere in the file, a truncated or a swapped file: an InternalError, never wrong bytes")
    func tampering() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let bytes = Self.plaintext(200_000)
        try await Self.encryptedPut(store.engine, "k", bytes)
        let path = store.directory.url.path + "/blobs/" + (try store.directory.blobFiles()[0])
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        // In the sealed data key, in the first chunk, in a tag, in the last chunk.
        for position in [30, BlobKey.headerSize + 10, BlobKey.headerSize + BlobKey.chunkSize + 3, original.count - 1] {
            var damaged = original
            damaged[position] ^= 0x01
            try damaged.write(to: URL(fileURLWithPath: path))
            let (_, reader) = try await store.engine.open(bucket: "bucket", key: "k")
            defer { reader.close() }
            await #expect(throws: StoreError.self, "byte \(position)") { _ = try await reader.read(offset: 0, count: bytes.count) }
            do {
                _ = try await reader.read(offset: 0, count: bytes.count)
            } catch {
                #expect(error.code == .internalError)
                #expect(error.message.contains("integrity"))
            }
        }
        // Two chunks swapped: each opens only at its own index.
        var swapped = original
        let a = BlobKey.headerSize, b = BlobKey.headerSize + BlobKey.sealedChunkSize
        swapped.replaceSubrange(a..<(a + BlobKey.sealedChunkSize), with: original[b..<(b + BlobKey.sealedChunkSize)])
        swapped.replaceSubrange(b..<(b + BlobKey.sealedChunkSize), with: original[a..<(a + BlobKey.sealedChunkSize)])
        try swapped.write(to: URL(fileURLWithPath: path))
        let (_, swappedReader) = try await store.engine.open(bucket: "bucket", key: "k")
        await #expect(throws: StoreError.self) { _ = try await swappedReader.read(offset: 0, count: 10) }
        swappedReader.close()
        // Truncated: refused at open (the size no longer matches the index).
        try original.prefix(original.count - 100).write(to: URL(fileURLWithPath: path))
        await #expect(throws: StoreError.self) { _ = try await store.engine.open(bucket: "bucket", key: "k") }
        // Restored: reads again.
        try original.write(to: URL(fileURLWithPath: path))
        #expect(try await store.engine.bytes("bucket", "k") == bytes)
    }

    @Test("a bucket's default encryption applies to new objects only; the header asks for it without a default")
    func bucketDefault() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        #expect(try await engine.defaultEncryption("bucket") == false)
        try await engine.put("bucket", "plain", Self.plaintext(1000))
        try await engine.setDefaultEncryption("bucket", true)
        #expect(try await engine.defaultEncryption("bucket"))
        let encrypted = try await engine.put("bucket", "encrypted", Self.plaintext(1000))
        #expect(encrypted.metadata.serverSideEncryption == "AES256")
        #expect(try await engine.head(bucket: "bucket", key: "plain").metadata.serverSideEncryption == nil)
        #expect(try await engine.bytes("bucket", "plain") == Self.plaintext(1000))
        try await engine.setDefaultEncryption("bucket", false)
        #expect(try await engine.put("bucket", "plain-again", [1, 2, 3]).metadata.serverSideEncryption == nil)
        #expect(try await engine.bytes("bucket", "encrypted") == Self.plaintext(1000))
        // A client's metadata cannot claim encryption for plain bytes.
        var claimed = ObjectMetadata()
        claimed.serverSideEncryption = "AES256"
        #expect(try await engine.put("bucket", "claimed", [9], metadata: claimed).metadata.serverSideEncryption == nil)
        #expect(try await engine.bytes("bucket", "claimed") == [9])
        await #expect(throws: StoreError.self) { try await engine.setDefaultEncryption("missing", true) }
    }

    @Test("a multipart upload to an encrypting bucket: every part encrypted, the object reads back, parts and ranges too")
    func multipart() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.setDefaultEncryption("bucket", true)
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "big", metadata: ObjectMetadata())
        #expect(upload.metadata.serverSideEncryption == "AES256")
        let one = Self.plaintext(Int(StorageEngine.minimumPartSize)), two = Array(Self.plaintext(70_000).reversed())
        var parts: [CompletedPart] = []
        for (number, bytes) in [(1, one), (2, two)] {
            let sink = try await engine.beginPartUpload(bucket: "bucket", key: "big", uploadId: upload.uploadId, computesSHA256: true)
            #expect(sink.isEncrypted)
            try await sink.write(bytes)
            let part = try await engine.commitPart(sink, bucket: "bucket", key: "big", uploadId: upload.uploadId, partNumber: number)
            parts.append(CompletedPart(partNumber: number, etag: part.etag))
        }
        // A plain sink cannot become a part of an encrypted upload.
        try await engine.setDefaultEncryption("bucket", false)
        let plain = try await engine.beginUpload(bucket: "bucket")
        try await plain.write([1, 2, 3])
        await #expect(throws: StoreError.self) {
            _ = try await engine.commitPart(plain, bucket: "bucket", key: "big", uploadId: upload.uploadId, partNumber: 3)
        }
        let info = try await engine.completeMultipartUpload(bucket: "bucket", key: "big", uploadId: upload.uploadId, parts: parts)
        #expect(info.metadata.serverSideEncryption == "AES256")
        #expect(try await engine.bytes("bucket", "big") == one + two)
        let (_, reader) = try await engine.open(bucket: "bucket", key: "big")
        defer { reader.close() }
        let across = try await reader.read(offset: Int64(one.count - 10), count: 20)
        #expect(across == Array((one + two)[(one.count - 10)..<(one.count + 10)]))
        for file in try store.directory.blobFiles() {
            let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: store.directory.url.path + "/blobs/" + file)))
            #expect(!Self.contains(raw, Array("PLAINTEXT-MARKER".utf8)))
        }
    }

    @Test("copies: an encrypted source shares its files (and stays encrypted with new metadata); a plain one is encrypted for an encrypting destination")
    func copies() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let bytes = Self.plaintext(100_000)
        try await Self.encryptedPut(engine, "secret", bytes)
        let shared = try await engine.copy(fromBucket: "bucket", fromKey: "secret", toBucket: "bucket", toKey: "copy",
                                           metadata: ObjectMetadata(contentType: "text/plain"))
        #expect(shared.metadata.serverSideEncryption == "AES256")
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try await engine.bytes("bucket", "copy") == bytes)

        try await engine.put("bucket", "plain", bytes)
        #expect(try store.directory.blobFiles().count == 2)
        let asked = try await engine.copy(fromBucket: "bucket", fromKey: "plain", toBucket: "bucket", toKey: "asked",
                                          metadata: nil, serverSideEncryption: true)
        #expect(asked.metadata.serverSideEncryption == "AES256")
        #expect(try store.directory.blobFiles().count == 3)
        #expect(try await engine.bytes("bucket", "asked") == bytes)
        try await engine.createBucket("vault")
        try await engine.setDefaultEncryption("vault", true)
        let moved = try await engine.copy(fromBucket: "bucket", fromKey: "plain", toBucket: "vault", toKey: "in-vault", metadata: nil)
        #expect(moved.metadata.serverSideEncryption == "AES256")
        #expect(moved.etag == StorageEngineMultipartTests.md5Hex(bytes))
        #expect(try await engine.bytes("vault", "in-vault") == bytes)
        for file in try store.directory.blobFiles() {
            let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: store.directory.url.path + "/blobs/" + file)))
            let hasPlaintext = Self.contains(raw, Array("PLAINTEXT-MARKER".utf8))
            #expect(hasPlaintext == (raw.count == bytes.count), "only the plain object's own file holds plaintext")
        }
    }

    @Test("the master key: made once with mode 0600, the same after a restart; a key others can read is refused")
    func masterKey() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var engine: StorageEngine? = try StorageEngine(directory: directory.url)
        try await engine!.createBucket("bucket")
        try await engine!.setDefaultEncryption("bucket", true)
        let bytes = Self.plaintext(70_000)
        try await engine!.put("bucket", "k", bytes)
        let keyPath = directory.path + "/master.key"
        let attributes = try FileManager.default.attributesOfItem(atPath: keyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == 32)
        let key = try Data(contentsOf: URL(fileURLWithPath: keyPath))
        engine = nil
        engine = try StorageEngine(directory: directory.url)
        #expect(try Data(contentsOf: URL(fileURLWithPath: keyPath)) == key)
        #expect(try await engine!.bytes("bucket", "k") == bytes)
        engine = nil
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: keyPath)
        #expect(throws: StoreError.self) { _ = try StorageEngine(directory: directory.url) }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
        // Another store's key cannot open these files.
        try Data(repeating: 7, count: 32).write(to: URL(fileURLWithPath: keyPath))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
        engine = try StorageEngine(directory: directory.url)
        await #expect(throws: StoreError.self) { _ = try await engine!.bytes("bucket", "k") }
    }

    @Test("an encrypted sink takes no bytes after its digests were read (its final chunk is sealed)")
    func noWritesAfterDigests() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let sink = try await store.engine.beginUpload(bucket: "bucket", serverSideEncryption: true)
        try await sink.write(Self.plaintext(1000))
        _ = try await sink.digests()
        await #expect(throws: StoreError.self) { try await sink.write([1]) }
        let info = try await store.engine.commit(sink, bucket: "bucket", key: "k", metadata: ObjectMetadata())
        #expect(info.size == 1000)
        #expect(try await store.engine.bytes("bucket", "k") == Self.plaintext(1000))
    }
}
