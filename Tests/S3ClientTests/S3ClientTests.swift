import Crypto
import Foundation
import S3
import SigV4
import Testing

/// `S3Client` against the embedded store over real HTTP on 127.0.0.1: every
/// request is signed by the client and verified by the store.
@Suite("S3Client against the embedded store")
struct S3ClientTests {
    static let bucket = LiveStore.bucket

    static func md5Hex(_ bytes: [UInt8]) -> String {
        Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    static func sha256Base64(_ bytes: some DataProtocol) -> String {
        Data(SHA256.hash(data: bytes)).base64EncodedString()
    }

    /// Runs `body` and returns the ``S3ClientError`` it throws; records an issue if it throws none.
    static func s3Error(_ body: () async throws -> Void) async -> S3ClientError? {
        do {
            try await body()
            Issue.record("expected an S3ClientError, got success")
            return nil
        } catch let error as S3ClientError {
            return error
        } catch {
            Issue.record("expected an S3ClientError, got \(error)")
            return nil
        }
    }

    @Test("put bytes, head, get, range get")
    func putHeadGet() async throws {
        try await LiveStore.run { s3, _ in
            let body = Array("Hello, Hoist! 0123456789".utf8)
            let key = "dir/my photo+1.txt"
            let etag = try await s3.putObject(bucket: Self.bucket, key: key, bytes: body, contentType: "text/plain",
                                              metadata: ["Article-Id": "42", "owner": "alice"])
            #expect(etag == Self.md5Hex(body))

            let head = try await s3.headObject(bucket: Self.bucket, key: key)
            #expect(head.size == Int64(body.count))
            #expect(head.etag == etag)
            #expect(head.contentType == "text/plain")
            #expect(head.metadata == ["article-id": "42", "owner": "alice"])
            #expect(head.checksumSHA256 == Self.sha256Base64(body))
            let modified = try #require(head.lastModified)
            #expect(abs(modified.timeIntervalSinceNow) < 120)

            let (whole, bytes) = try await s3.getObject(bucket: Self.bucket, key: key, maxBytes: 1024)
            #expect(bytes == body)
            #expect(whole.etag == etag)
            #expect(whole.checksumSHA256 == Self.sha256Base64(body))

            let (ranged, first) = try await s3.getObject(bucket: Self.bucket, key: key, range: 0...4, maxBytes: 5)
            #expect(String(decoding: first, as: UTF8.self) == "Hello")
            #expect(ranged.size == Int64(body.count), "a range GET's head gives the whole object's size")
            let (_, middle) = try await s3.getObject(bucket: Self.bucket, key: key, range: 7...11, maxBytes: 100)
            #expect(String(decoding: middle, as: UTF8.self) == "Hoist")
            // A range past the end is cut to the object, as when sniffing the first 64 KiB of a small file.
            let (_, sniff) = try await s3.getObject(bucket: Self.bucket, key: key, range: 0...65535, maxBytes: 65536)
            #expect(sniff == body)

            let tooLarge = await Self.s3Error { _ = try await s3.getObject(bucket: Self.bucket, key: key, maxBytes: 10) }
            #expect(tooLarge?.code == .responseTooLarge)
            let outside = await Self.s3Error { _ = try await s3.getObject(bucket: Self.bucket, key: key, range: 1000...2000, maxBytes: 10) }
            #expect(outside?.code == .invalidRange)
            #expect(outside?.status == 416)
        }
    }

    static let oddKeys = [
        "a b.png",
        "plus+sign+.jpg",
        "percent%20literal%2F.png",
        "ünïcödé/фото 1.jpg",
        "emoji 📷/ok.gif",
        "dir//double/slash",
        "dot/../segments/./kept",
        "trailing/",
        "~tilde_-.dots..",
        "semi;colon,comma=eq&amp?q#hash$dollar@at!bang'quote(paren)*star",
        "articles/2b1c0e8e-5d0a-4c1e-9f3b-2a7e1c9d4f00/raw/3f6d.png",
        "back\\slash^caret`tick{brace}|pipe[bracket]<lt>\"dq\"",
    ]

    @Test("odd keys: put, head, range get, copy, delete", arguments: oddKeys)
    func oddKey(_ key: String) async throws {
        try await LiveStore.run { s3, store in
            let body = Array("0123456789abcdef".utf8)
            let etag = try await s3.putObject(bucket: Self.bucket, key: key, bytes: body, contentType: "application/octet-stream")
            // Stored under exactly this key (not a re-encoded or normalised one), as the engine itself says.
            #expect(try await store.engine.head(bucket: Self.bucket, key: key).etag == etag)
            #expect(try await s3.headObject(bucket: Self.bucket, key: key).etag == etag)
            let (head, range) = try await s3.getObject(bucket: Self.bucket, key: key, range: 2...5, maxBytes: 4)
            #expect(String(decoding: range, as: UTF8.self) == "2345")
            #expect(head.size == 16)
            let copyKey = "copies/" + key
            #expect(try await s3.copyObject(from: (Self.bucket, key), to: (Self.bucket, copyKey)) == etag)
            #expect(try await store.engine.head(bucket: Self.bucket, key: copyKey).etag == etag)
            #expect(try await s3.getObject(bucket: Self.bucket, key: copyKey, maxBytes: 16).1 == body)
            try await s3.deleteObject(bucket: Self.bucket, key: key)
            let gone = await Self.s3Error { _ = try await s3.headObject(bucket: Self.bucket, key: key) }
            #expect(gone?.isNoSuchKey == true)
            // The copy is untouched by the delete of its source.
            #expect(try await s3.headObject(bucket: Self.bucket, key: copyKey).size == 16)
        }
    }

    /// A file of `size` bytes that are not a repeating pattern.
    static func makeFile(size: Int) throws -> (path: String, sha256: String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-s3client-\(UUID().uuidString).bin").path
        var generator = SystemRandomNumberGenerator()
        var hasher = SHA256()
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var left = size
        while left > 0 {
            let count = min(left, 1 << 20)
            var chunk = [UInt8](repeating: 0, count: count)
            for i in stride(from: 0, to: count, by: 8) {
                withUnsafeBytes(of: generator.next() as UInt64) { word in
                    for j in 0..<min(8, count - i) { chunk[i + j] = word[j] }
                }
            }
            hasher.update(data: chunk)
            try handle.write(contentsOf: chunk)
            left -= count
        }
        return (path, Data(hasher.finalize()).base64EncodedString())
    }

    static func sha256Base64(ofFile path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return Data(hasher.finalize()).base64EncodedString()
    }

    @Test("put a multi-MiB file, download it: same bytes; the download is checked")
    func fileRoundTrip() async throws {
        let size = 9 * 1024 * 1024 + 12345
        let (path, sha256) = try Self.makeFile(size: size)
        let target = path + ".downloaded"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: target)
        }
        try await LiveStore.run { s3, _ in
            let key = "big/raw file ü.bin"
            let etag = try await s3.putObject(bucket: Self.bucket, key: key, file: path, contentType: "application/octet-stream",
                                              metadata: ["source": "test"], checksumSHA256: sha256)
            let head = try await s3.headObject(bucket: Self.bucket, key: key)
            #expect(head.size == Int64(size))
            #expect(head.etag == etag)
            #expect(head.checksumSHA256 == sha256)
            #expect(head.metadata["source"] == "test")

            let downloaded = try await s3.download(bucket: Self.bucket, key: key, to: target)
            #expect(downloaded.size == Int64(size))
            #expect(try Self.sha256Base64(ofFile: target) == sha256)
            #expect((try FileManager.default.attributesOfItem(atPath: target)[.size] as? NSNumber)?.intValue == size)

            // Without a checksum the file still goes up whole (UNSIGNED-PAYLOAD), and replaces the download.
            let plainKey = "big/plain.bin"
            _ = try await s3.putObject(bucket: Self.bucket, key: plainKey, file: path, contentType: "application/octet-stream")
            try "old content".write(toFile: target, atomically: false, encoding: .utf8)
            let plain = try await s3.download(bucket: Self.bucket, key: plainKey, to: target)
            #expect(plain.checksumSHA256 == nil)
            #expect(try Self.sha256Base64(ofFile: target) == sha256)

            // A checksum that does not match the file: refused, nothing stored.
            let wrong = await Self.s3Error {
                _ = try await s3.putObject(bucket: Self.bucket, key: "big/wrong.bin", file: path, contentType: "application/octet-stream",
                                           checksumSHA256: Self.sha256Base64(Array("other".utf8)))
            }
            #expect(wrong?.code == S3ClientError.Code(rawValue: "BadDigest"))
            #expect(wrong?.status == 400)
            #expect(await Self.s3Error { _ = try await s3.headObject(bucket: Self.bucket, key: "big/wrong.bin") }?.isNoSuchKey == true)
        }
    }

    @Test("a failed download leaves the target file as it was")
    func failedDownload() async throws {
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-s3client-\(UUID().uuidString).keep").path
        try "keep me".write(toFile: target, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: target) }
        try await LiveStore.run { s3, _ in
            let error = await Self.s3Error { try await s3.download(bucket: Self.bucket, key: "missing.png", to: target) }
            #expect(error?.code == .noSuchKey)
            let content = try String(contentsOfFile: target, encoding: .utf8)
            #expect(content == "keep me")
            let fresh = target + ".new"
            _ = await Self.s3Error { try await s3.download(bucket: Self.bucket, key: "missing.png", to: fresh) }
            #expect(!FileManager.default.fileExists(atPath: fresh))
        }
    }

    @Test("copy keeps type and metadata; copy of a missing source is NoSuchKey")
    func copy() async throws {
        try await LiveStore.run { s3, _ in
            let body = Array(repeating: UInt8(7), count: 1000)
            let etag = try await s3.putObject(bucket: Self.bucket, key: "articles/a/raw/x.png", bytes: body, contentType: "image/png",
                                              metadata: ["reason": "not-an-image"])
            let copied = try await s3.copyObject(from: (Self.bucket, "articles/a/raw/x.png"),
                                                 to: (Self.bucket, "quarantine/articles/a/raw/x.png"))
            #expect(copied == etag)
            let head = try await s3.headObject(bucket: Self.bucket, key: "quarantine/articles/a/raw/x.png")
            #expect(head.contentType == "image/png")
            #expect(head.metadata == ["reason": "not-an-image"])
            #expect(head.size == 1000)

            let missing = await Self.s3Error { _ = try await s3.copyObject(from: (Self.bucket, "nope"), to: (Self.bucket, "dest")) }
            #expect(missing?.code == .noSuchKey)
            #expect(missing?.operation == "CopyObject")
            let noBucket = await Self.s3Error { _ = try await s3.copyObject(from: ("no-such-bucket", "k"), to: (Self.bucket, "dest")) }
            #expect(noBucket?.code == .noSuchBucket)
        }
    }

    @Test("delete; NoSuchKey from GET and HEAD; deleting a missing key succeeds")
    func deleteAndNoSuchKey() async throws {
        try await LiveStore.run { s3, _ in
            try await s3.putObject(bucket: Self.bucket, key: "d.txt", bytes: Array("x".utf8), contentType: "text/plain")
            try await s3.deleteObject(bucket: Self.bucket, key: "d.txt")
            let get = await Self.s3Error { _ = try await s3.getObject(bucket: Self.bucket, key: "d.txt", maxBytes: 10) }
            #expect(get?.code == .noSuchKey)
            #expect(get?.isNoSuchKey == true)
            #expect(get?.status == 404)
            #expect(get?.message.isEmpty == false)
            #expect(get?.requestId?.isEmpty == false)
            #expect(get?.description.contains("GetObject \(Self.bucket)/d.txt failed: HTTP 404 NoSuchKey") == true)
            let head = await Self.s3Error { _ = try await s3.headObject(bucket: Self.bucket, key: "d.txt") }
            #expect(head?.isNoSuchKey == true)
            #expect(head?.status == 404)
            try await s3.deleteObject(bucket: Self.bucket, key: "d.txt")
            let noBucket = await Self.s3Error { _ = try await s3.getObject(bucket: "no-such-bucket", key: "k", maxBytes: 10) }
            #expect(noBucket?.code == .noSuchBucket)
            #expect(noBucket?.isNoSuchKey == false)
        }
    }

    @Test("wrong secret, unknown key, wrong region: refused with S3's codes; no secret in the error")
    func credentialsRefused() async throws {
        try await LiveStore.run { s3, store in
            try await s3.putObject(bucket: Self.bucket, key: "k.txt", bytes: Array("x".utf8), contentType: "text/plain")
            let endpoint = store.endpoint
            let secret = "wrong-secret-9876543210-wrong-secret-98"
            let wrongSecret = S3Client(endpoint: endpoint, region: "us-east-1",
                                       credentials: SigV4Credentials(accessKeyId: LiveStore.credentials.accessKeyId, secretAccessKey: secret))
            let get = await Self.s3Error { _ = try await wrongSecret.getObject(bucket: Self.bucket, key: "k.txt", maxBytes: 10) }
            #expect(get?.code == .signatureDoesNotMatch)
            #expect(get?.status == 403)
            #expect(get.map { !$0.description.contains(secret) && !$0.description.contains(LiveStore.credentials.secretAccessKey) } == true)
            let put = await Self.s3Error { _ = try await wrongSecret.putObject(bucket: Self.bucket, key: "k.txt", bytes: [1], contentType: "text/plain") }
            #expect(put?.code == .signatureDoesNotMatch)
            let head = await Self.s3Error { _ = try await wrongSecret.headObject(bucket: Self.bucket, key: "k.txt") }
            #expect(head?.code == .forbidden)
            #expect(head?.status == 403)

            let unknown = S3Client(endpoint: endpoint, region: "us-east-1",
                                   credentials: SigV4Credentials(accessKeyId: "NOSUCHKEY0000000", secretAccessKey: secret))
            #expect(await Self.s3Error { try await unknown.deleteObject(bucket: Self.bucket, key: "k.txt") }?.code == .invalidAccessKeyId)

            let otherRegion = S3Client(endpoint: endpoint, region: "eu-west-1", credentials: LiveStore.credentials)
            let region = await Self.s3Error { _ = try await otherRegion.headObject(bucket: Self.bucket, key: "k.txt") }
            #expect(region?.status.map { $0 == 400 || $0 == 403 } == true)

            // The object is still there, unchanged, for the right key.
            #expect(try await s3.getObject(bucket: Self.bucket, key: "k.txt", maxBytes: 10).1 == Array("x".utf8))
        }
    }

    @Test("temporary credentials: the session token is sent; a wrong or missing one is refused")
    func sessionToken() async throws {
        try await LiveStore.run { _, store in
            let temporary = S3Client(endpoint: store.endpoint, region: "us-east-1", credentials: LiveStore.temporary)
            let etag = try await temporary.putObject(bucket: Self.bucket, key: "t/a.txt", bytes: Array("temp".utf8), contentType: "text/plain")
            #expect(try await temporary.headObject(bucket: Self.bucket, key: "t/a.txt").etag == etag)
            #expect(try await temporary.getObject(bucket: Self.bucket, key: "t/a.txt", maxBytes: 4).1 == Array("temp".utf8))

            var wrongToken = LiveStore.temporary
            wrongToken.sessionToken = "another-token"
            let wrong = S3Client(endpoint: store.endpoint, region: "us-east-1", credentials: wrongToken)
            let refused = await Self.s3Error { _ = try await wrong.getObject(bucket: Self.bucket, key: "t/a.txt", maxBytes: 4) }
            #expect(refused?.code == S3ClientError.Code(rawValue: "InvalidToken"))
            #expect(refused.map { !$0.description.contains("another-token") } == true)

            var noToken = LiveStore.temporary
            noToken.sessionToken = nil
            let missing = S3Client(endpoint: store.endpoint, region: "us-east-1", credentials: noToken)
            let missingError = await Self.s3Error { try await missing.deleteObject(bucket: Self.bucket, key: "t/a.txt") }
            #expect(missingError?.code == S3ClientError.Code(rawValue: "MissingSecurityHeader"))
            #expect(try await store.engine.head(bucket: Self.bucket, key: "t/a.txt").etag == etag, "nothing was deleted")
        }
    }

    @Test("metadata that S3 cannot carry is refused before sending")
    func badMetadata() async throws {
        try await LiveStore.run { s3, _ in
            let error = await Self.s3Error {
                _ = try await s3.putObject(bucket: Self.bucket, key: "m", bytes: [1], contentType: "text/plain", metadata: ["name": "ünïcode"])
            }
            #expect(error?.code == .invalidArgument)
            #expect(error?.status == nil)
            #expect(await Self.s3Error { _ = try await s3.headObject(bucket: Self.bucket, key: "m") }?.isNoSuchKey == true)
        }
    }
}

/// Memory stays flat when big objects go up from a file and come down to one.
///
/// The measurement runs in a child process of its own (an exit test): the peak resident set
/// (`VmHWM`) is a whole process's, and the suites running beside this one in the test process
/// (thumbnails decoded by libvips, servers started by other tests) would raise it too.
@Suite("S3Client streaming memory")
struct S3ClientMemoryTests {
    /// The process's peak resident set (`VmHWM`) in bytes, from `/proc/self/status`; `nil` off Linux.
    static func peakResidentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kib * 1024
    }

    /// How the child process's line with its figure (bytes) starts.
    static let figure = "peak RSS growth: "

    @Test("a 96 MiB put from a file and download to a file raise the peak RSS by far less than the object",
          .enabled(if: peakResidentBytes() != nil, "needs /proc/self/status"))
    func flatMemory() async throws {
        // The child prints its figure (or why it could not measure) on standard error.
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            do {
                let growth = try await Self.measurePeakGrowth(size: 96 * 1024 * 1024)
                FileHandle.standardError.write(Data("\(Self.figure)\(growth)\n".utf8))
            } catch {
                FileHandle.standardError.write(Data("streaming round trip failed: \(error)\n".utf8))
                exit(2)
            }
        }
        let report = result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
        let growth = try #require(report.split(separator: "\n").lazy.compactMap { line in
            line.hasPrefix(Self.figure) ? Int(line.dropFirst(Self.figure.count)) : nil
        }.first, "the child process reported no figure: \(report)")
        // A client that held the object in memory would add at least its 96 MiB.
        #expect(growth < 96 * 1024 * 1024, "peak RSS grew by \(growth >> 20) MiB for a 96 MiB object")
    }

    /// Puts a file of `size` random bytes to a store started in this process and downloads it to a
    /// file; checks the copy and returns how much the process's peak resident set grew meanwhile.
    static func measurePeakGrowth(size: Int) async throws -> Int {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-s3client-big-\(UUID().uuidString).bin").path
        let target = path + ".downloaded"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: target)
        }
        // 1 MiB of random bytes, written size / 1 MiB times (the content only needs to be checkable).
        var generator = SystemRandomNumberGenerator()
        let block = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        for _ in 0..<(size >> 20) { try handle.write(contentsOf: block) }
        try handle.close()
        let sha256 = try S3ClientTests.sha256Base64(ofFile: path)

        return try await LiveStore.run { s3, _ in
            // Warm up connections and buffers with a small object first.
            try await s3.putObject(bucket: LiveStore.bucket, key: "warm", bytes: block, contentType: "application/octet-stream")
            guard let before = peakResidentBytes() else { throw CocoaError(.fileReadUnknown) }
            try await s3.putObject(bucket: LiveStore.bucket, key: "big.bin", file: path, contentType: "application/octet-stream")
            let head = try await s3.download(bucket: LiveStore.bucket, key: "big.bin", to: target)
            guard let after = peakResidentBytes() else { throw CocoaError(.fileReadUnknown) }
            guard head.size == Int64(size), try S3ClientTests.sha256Base64(ofFile: target) == sha256 else {
                throw CocoaError(.fileReadCorruptFile)
            }
            return after - before
        }
    }
}
