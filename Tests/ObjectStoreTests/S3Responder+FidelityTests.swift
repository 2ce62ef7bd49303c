import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ObjectStore
import ObjectStoreEngine
import SigV4
import Testing

/// Behaviours where S3 answers in a particular way that clients rely on: a retried completion,
/// parts of a multipart object, bucket re-creation in us-east-1, `max-keys=0`, encodings as sent.
@Suite("S3 routes: fidelity")
struct S3ResponderFidelityTests {
    typealias T = S3ServerTests
    typealias M = S3ResponderMultipartTests
    static let mib = 1024 * 1024

    static func completion(_ parts: [(Int, String)]) -> [UInt8] {
        Array(("<CompleteMultipartUpload>" + parts.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\($0.1)</ETag></Part>" }.joined()
               + "</CompleteMultipartUpload>").utf8)
    }

    /// Makes `key` from two parts (5 MiB of `a`, then `tail`) and returns the completion's answer.
    static func multipartObject(_ client: some TestClientProtocol, _ key: String, tail: [UInt8]) async throws -> (uploadId: String, body: [UInt8], done: TestResponse) {
        let created = try await T.send(client, .post, "/bkt/\(key)", query: [("uploads", "")])
        let uploadId = try #require(M.field(String(buffer: created.body), "UploadId"))
        let one = [UInt8](repeating: 0x61, count: 5 * mib)
        let p1 = try await T.send(client, .put, "/bkt/\(key)", query: [("partNumber", "1"), ("uploadId", uploadId)], body: one)
        let p2 = try await T.send(client, .put, "/bkt/\(key)", query: [("partNumber", "2"), ("uploadId", uploadId)], body: tail)
        let e1 = try #require(p1.headers[.eTag]), e2 = try #require(p2.headers[.eTag])
        let body = completion([(1, e1), (2, e2)])
        let done = try await T.send(client, .post, "/bkt/\(key)", query: [("uploadId", uploadId)], body: body)
        return (uploadId, body, done)
    }

    @Test("a retried CompleteMultipartUpload answers 200 with the same ETag")
    func retriedCompletion() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let (uploadId, body, done) = try await Self.multipartObject(client, "big.bin", tail: Array("tail".utf8))
            #expect(done.status == .ok)
            let etag = try #require(M.field(String(buffer: done.body), "ETag"))
            let again = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)], body: body)
            #expect(again.status == .ok)
            #expect(M.field(String(buffer: again.body), "ETag") == etag)
            #expect(again.headers[.init("x-amz-version-id")!] == nil)
            // Another part list is not a retry.
            let other = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)],
                                         body: Self.completion([(1, "\"00000000000000000000000000000000\"")]))
            #expect(T.xmlCode(other) == "NoSuchUpload")
        }
    }

    @Test("GET and HEAD with partNumber: that part, 206, x-amz-mp-parts-count; part 1 of a plain object is all of it")
    func partNumberReads() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let tail = Array("the tail".utf8)
            _ = try await Self.multipartObject(client, "mp.bin", tail: tail)
            let second = try await T.send(client, .get, "/bkt/mp.bin", query: [("partNumber", "2")])
            #expect(second.status == .partialContent)
            #expect(Array(buffer: second.body) == tail)
            #expect(second.headers[.init("x-amz-mp-parts-count")!] == "2")
            #expect(second.headers[.contentRange] == "bytes \(5 * Self.mib)-\(5 * Self.mib + tail.count - 1)/\(5 * Self.mib + tail.count)")
            let firstHead = try await T.send(client, .head, "/bkt/mp.bin", query: [("partNumber", "1")])
            #expect(firstHead.status == .partialContent)
            #expect(firstHead.headers[.contentLength] == String(5 * Self.mib))
            #expect(firstHead.headers[.init("x-amz-mp-parts-count")!] == "2")
            #expect(T.xmlCode(try await T.send(client, .get, "/bkt/mp.bin", query: [("partNumber", "3")])) == "InvalidPart")
            #expect(T.xmlCode(try await T.send(client, .get, "/bkt/mp.bin", query: [("partNumber", "0")])) == "InvalidArgument")
            #expect(T.xmlCode(try await T.send(client, .get, "/bkt/mp.bin", query: [("partNumber", "1")],
                                               headers: [("Range", "bytes=0-1")])) == "InvalidRequest")

            try await T.send(client, .put, "/bkt/plain.txt", body: Array("plain".utf8))
            let whole = try await T.send(client, .get, "/bkt/plain.txt", query: [("partNumber", "1")])
            #expect(whole.status == .ok)
            #expect(String(buffer: whole.body) == "plain")
            #expect(whole.headers[.init("x-amz-mp-parts-count")!] == nil)
            #expect(T.xmlCode(try await T.send(client, .get, "/bkt/plain.txt", query: [("partNumber", "2")])) == "InvalidPart")
        }
    }

    @Test("DeleteBucket with an upload in progress deletes both")
    func deleteBucketWithUploads() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let created = try await T.send(client, .post, "/bkt/k", query: [("uploads", "")])
            let uploadId = try #require(M.field(String(buffer: created.body), "UploadId"))
            try await T.send(client, .put, "/bkt/k", query: [("partNumber", "1"), ("uploadId", uploadId)], body: [1, 2, 3])
            #expect(try await T.send(client, .delete, "/bkt").status == .noContent)
            #expect(try await T.send(client, .head, "/bkt").status == .notFound)
        }
    }

    @Test("CreateBucket on your own bucket: 200 in us-east-1 (contents kept), 409 elsewhere")
    func recreateOwnBucket() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            try await T.send(client, .put, "/bkt/k", body: Array("kept".utf8))
            #expect(try await T.send(client, .put, "/bkt").status == .ok)
            #expect(String(buffer: try await T.send(client, .get, "/bkt/k").body) == "kept")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-store-test-\(UUID().uuidString)")
        let app = Application(responder: S3Responder(engine: try StorageEngine(directory: directory), credentials: [T.credentials], region: "eu-west-1"))
        let signer = SigV4Signer(credentials: T.credentials, region: "eu-west-1")
        try await app.test(.router) { client in
            for expected in [HTTPResponse.Status.ok, .conflict] {
                let signed = signer.signHeaders(method: "PUT", host: "localhost", path: "/bkt", query: [], headers: [("Content-Length", "0")],
                                                payloadHash: PayloadHash.sha256(of: []), date: Date())
                var fields: HTTPFields = [:]
                for (name, value) in signed.headers where name.lowercased() != "host" { fields.append(HTTPField(name: .init(name)!, value: value)) }
                let response = try await client.executeRequest(uri: "/bkt", method: .put, headers: fields, body: ByteBuffer())
                #expect(response.status == expected)
                if expected == .conflict { #expect(T.xmlCode(response) == "BucketAlreadyOwnedByYou") }
            }
        }
    }

    @Test("ListObjects with max-keys=0: no keys, not truncated")
    func maxKeysZero() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            try await T.send(client, .put, "/bkt/a", body: [1])
            for query in [[("list-type", "2"), ("max-keys", "0")], [("max-keys", "0")]] {
                let text = String(buffer: try await T.send(client, .get, "/bkt", query: query).body)
                #expect(M.field(text, "IsTruncated") == "false")
                #expect(!text.contains("<Contents>"))
                #expect(M.field(text, "MaxKeys") == "0")
            }
        }
    }

    @Test("Content-Encoding is kept as sent, without aws-chunked; unversioned writes carry no version id")
    func encodingsAndVersionIds() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let put = try await T.send(client, .put, "/bkt/z", headers: [("Content-Encoding", "deflate, gzip")], body: [1])
            #expect(put.headers[.init("x-amz-version-id")!] == nil)
            #expect(try await T.send(client, .head, "/bkt/z").headers[.contentEncoding] == "deflate, gzip")
            try await T.send(client, .put, "/bkt/y", headers: [("Content-Encoding", "aws-chunked, gzip")], body: [1])
            #expect(try await T.send(client, .head, "/bkt/y").headers[.contentEncoding] == "gzip")
            let copy = try await T.send(client, .put, "/bkt/z2", headers: [("x-amz-copy-source", "/bkt/z")])
            #expect(copy.status == .ok)
            #expect(copy.headers[.init("x-amz-version-id")!] == nil)
        }
    }

    @Test("lifecycle: NoncurrentVersionExpiration is kept and read back; NewerNoncurrentVersions is refused")
    func noncurrentVersionExpirationRule() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let rule = """
                <LifecycleConfiguration><Rule><ID>versions</ID><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status>\
                <NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>
                """
            #expect(try await T.send(client, .put, "/bkt", query: [("lifecycle", "")], body: Array(rule.utf8)).status == .ok)
            let back = String(buffer: try await T.send(client, .get, "/bkt", query: [("lifecycle", "")]).body)
            #expect(back.contains("<NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration>"))
            let newer = rule.replacingOccurrences(of: "<NoncurrentDays>30</NoncurrentDays>",
                                                  with: "<NoncurrentDays>30</NoncurrentDays><NewerNoncurrentVersions>2</NewerNoncurrentVersions>")
            #expect(T.xmlCode(try await T.send(client, .put, "/bkt", query: [("lifecycle", "")], body: Array(newer.utf8))) == "NotImplemented")
        }
    }
}
