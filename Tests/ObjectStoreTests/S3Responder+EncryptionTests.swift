import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ObjectStore
import ObjectStoreEngine
import Testing

/// Put/Get/DeleteBucketEncryption, `x-amz-server-side-encryption` on requests and responses,
/// and a damaged encrypted file answered with a 500.
@Suite("S3 routes: encryption at rest")
struct S3ResponderEncryptionTests {
    typealias T = S3ServerTests
    typealias M = S3ResponderMultipartTests
    static let sse = HTTPField.Name("x-amz-server-side-encryption")!

    static func configuration(_ algorithm: String, extra: String = "") -> [UInt8] {
        Array("""
            <ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>\
            <ApplyServerSideEncryptionByDefault><SSEAlgorithm>\(algorithm)</SSEAlgorithm>\(extra)</ApplyServerSideEncryptionByDefault>\
            </Rule></ServerSideEncryptionConfiguration>
            """.utf8)
    }

    /// An app over a store in `directory`.
    static func makeApp(_ directory: URL) throws -> some ApplicationProtocol {
        let engine = try StorageEngine(directory: directory)
        return Application(responder: S3Responder(engine: engine, credentials: [T.credentials]))
    }

    @Test("PutBucketEncryption AES256, Get, Delete; KMS, customer keys and bad documents refused")
    func bucketConfiguration() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-sse-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.makeApp(directory).test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let none = try await T.send(client, .get, "/bkt", query: [("encryption", "")])
            #expect(none.status == .notFound)
            #expect(T.xmlCode(none) == "ServerSideEncryptionConfigurationNotFoundError")
            #expect(try await T.send(client, .put, "/bkt", query: [("encryption", "")], body: Self.configuration("AES256")).status == .ok)
            let got = try await T.send(client, .get, "/bkt", query: [("encryption", "")])
            #expect(got.status == .ok)
            #expect(M.field(String(buffer: got.body), "SSEAlgorithm") == "AES256")
            let kms = try await T.send(client, .put, "/bkt", query: [("encryption", "")], body: Self.configuration("aws:kms"))
            #expect(kms.status == .notImplemented)
            let keyWithAES = try await T.send(client, .put, "/bkt", query: [("encryption", "")],
                                              body: Self.configuration("AES256", extra: "<KMSMasterKeyID>k</KMSMasterKeyID>"))
            #expect(T.xmlCode(keyWithAES) == "InvalidArgument")
            for bad in [Self.configuration("DES"), Array("<ServerSideEncryptionConfiguration/>".utf8), Array("<Rule>".utf8)] {
                #expect(T.xmlCode(try await T.send(client, .put, "/bkt", query: [("encryption", "")], body: bad)) == "MalformedXML")
            }
            #expect(T.xmlCode(try await T.send(client, .put, "/nope", query: [("encryption", "")], body: Self.configuration("AES256"))) == "NoSuchBucket")
            // Refused documents left the default in place.
            #expect(try await T.send(client, .get, "/bkt", query: [("encryption", "")]).status == .ok)
            #expect(try await T.send(client, .delete, "/bkt", query: [("encryption", "")]).status == .noContent)
            #expect(try await T.send(client, .get, "/bkt", query: [("encryption", "")]).status == .notFound)

            let asked = try await T.send(client, .put, "/bkt/a", headers: [("x-amz-server-side-encryption", "aws:kms")], body: [1])
            #expect(T.xmlCode(asked) == "InvalidArgument")
            let customer = try await T.send(client, .put, "/bkt/a", headers: [("x-amz-server-side-encryption-customer-algorithm", "AES256")], body: [1])
            #expect(customer.status == .notImplemented)
            #expect(try await T.send(client, .head, "/bkt/a").status == .notFound, "nothing stored by a refused request")
        }
    }

    @Test("x-amz-server-side-encryption: asked for by a PUT, given by a bucket default, answered on PUT, GET, HEAD, copy and multipart")
    func headers() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-sse-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.makeApp(directory).test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let body = Array("a photo's bytes".utf8)
            let plain = try await T.send(client, .put, "/bkt/plain", body: body)
            #expect(plain.headers[Self.sse] == nil)
            #expect(try await T.send(client, .head, "/bkt/plain").headers[Self.sse] == nil)
            let asked = try await T.send(client, .put, "/bkt/asked", headers: [("x-amz-server-side-encryption", "AES256")], body: body)
            #expect(asked.headers[Self.sse] == "AES256")
            let read = try await T.send(client, .get, "/bkt/asked")
            #expect(read.headers[Self.sse] == "AES256")
            #expect(Array(buffer: read.body) == body)
            #expect(try await T.send(client, .head, "/bkt/asked").headers[Self.sse] == "AES256")
            let ranged = try await T.send(client, .get, "/bkt/asked", headers: [("Range", "bytes=2-6")])
            #expect(ranged.status == .partialContent)
            #expect(Array(buffer: ranged.body) == Array(body[2...6]))

            try await T.send(client, .put, "/bkt", query: [("encryption", "")], body: Self.configuration("AES256"))
            let defaulted = try await T.send(client, .put, "/bkt/defaulted", body: body)
            #expect(defaulted.headers[Self.sse] == "AES256")
            let copied = try await T.send(client, .put, "/bkt/copied", headers: [("x-amz-copy-source", "/bkt/plain")])
            #expect(copied.status == .ok)
            #expect(copied.headers[Self.sse] == "AES256")
            #expect(Array(buffer: try await T.send(client, .get, "/bkt/copied").body) == body)

            let (_, _, done) = try await S3ResponderFidelityTests.multipartObject(client, "big.bin", tail: Array("tail".utf8))
            #expect(done.status == .ok)
            #expect(done.headers[Self.sse] == "AES256")
            let big = try await T.send(client, .get, "/bkt/big.bin", query: [("partNumber", "2")])
            #expect(big.headers[Self.sse] == "AES256")
            #expect(Array(buffer: big.body) == Array("tail".utf8))
        }
    }

    @Test("a byte flipped in an encrypted object's file: GET answers 500 InternalError, never the wrong bytes")
    func damagedFile() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-sse-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.makeApp(directory).test(.router) { client in
            try await T.send(client, .put, "/bkt")
            try await T.send(client, .put, "/bkt", query: [("encryption", "")], body: Self.configuration("AES256"))
            let body = [UInt8](repeating: 0x41, count: 100_000)
            #expect(try await T.send(client, .put, "/bkt/k", body: body).status == .ok)
            let blobs = directory.appendingPathComponent("blobs")
            var files: [URL] = []
            for shard in try FileManager.default.contentsOfDirectory(atPath: blobs.path) {
                for name in try FileManager.default.contentsOfDirectory(atPath: blobs.appendingPathComponent(shard).path) {
                    files.append(blobs.appendingPathComponent(shard).appendingPathComponent(name))
                }
            }
            #expect(files.count == 1)
            var raw = try Data(contentsOf: files[0])
            #expect(raw.firstRange(of: Data(repeating: 0x41, count: 64)) == nil, "no plaintext on disk")
            raw[raw.count / 2] ^= 0x80
            try raw.write(to: files[0])
            let damaged = try await T.send(client, .get, "/bkt/k")
            #expect(damaged.status == .internalServerError)
            #expect(T.xmlCode(damaged) == "InternalError")
            #expect(!Array(buffer: damaged.body).starts(with: [0x41, 0x41]))
            // HEAD reads no bytes; the store keeps serving.
            #expect(try await T.send(client, .head, "/bkt/k").status == .ok)
            #expect(try await T.send(client, .put, "/bkt/other", body: [1, 2]).status == .ok)
        }
    }
}
