import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ObjectStore
import ObjectStoreEngine
import SigV4
import Testing

/// Routes of the embedded store, driven in-process with requests signed by our SigV4 signer.
@Suite("S3 routes")
struct S3ServerTests {
    static let credentials = SigV4Credentials(accessKeyId: "HOISTTESTKEY0000", secretAccessKey: "test-secret-for-the-store-0123456789abcd")
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1")

    /// A fresh store in a temporary folder.
    static func makeApp() throws -> some ApplicationProtocol {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-store-test-\(UUID().uuidString)")
        let engine = try StorageEngine(directory: directory)
        return Application(responder: S3Responder(engine: engine, credentials: [credentials]))
    }

    /// Signs and sends a request; `path` is decoded (`/bucket/my key`), `query` decoded pairs.
    @discardableResult
    static func send(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String,
                     query: [(String, String)] = [], headers: [(String, String)] = [], body: [UInt8] = [],
                     sign: Bool = true) async throws -> TestResponse {
        var fields: HTTPFields = [:]
        if sign {
            let signed = signer.signHeaders(method: method.rawValue, host: "localhost", path: path, query: query,
                                            headers: headers + (body.isEmpty && method != .put ? [] : [("Content-Length", String(body.count))]),
                                            payloadHash: PayloadHash.sha256(of: body), date: Date())
            for (name, value) in signed.headers where name.lowercased() != "host" { fields.append(HTTPField(name: .init(name)!, value: value)) }
        } else {
            for (name, value) in headers { fields.append(HTTPField(name: .init(name)!, value: value)) }
        }
        let target = S3URIEncoding.encodePath(path) + (query.isEmpty ? "" : "?" + query.map {
            S3URIEncoding.encodeQueryComponent($0.0) + "=" + S3URIEncoding.encodeQueryComponent($0.1)
        }.joined(separator: "&"))
        return try await client.executeRequest(uri: target, method: method, headers: fields, body: ByteBuffer(bytes: body))
    }

    static func xmlCode(_ response: TestResponse) -> String? {
        let text = String(buffer: response.body)
        guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>") else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    @Test("buckets: create, head, list, location, delete, errors")
    func buckets() async throws {
        try await Self.makeApp().test(.router) { client in
            #expect(try await Self.send(client, .put, "/photos").status == .ok)
            // us-east-1: re-creating your own bucket succeeds (S3ResponderFidelityTests covers other regions).
            #expect(try await Self.send(client, .put, "/photos").status == .ok)
            #expect(Self.xmlCode(try await Self.send(client, .put, "/Bad_Name")) == "InvalidBucketName")
            #expect(try await Self.send(client, .head, "/photos").status == .ok)
            #expect(try await Self.send(client, .head, "/missing").status == .notFound)
            let list = try await Self.send(client, .get, "/")
            #expect(String(buffer: list.body).contains("<Name>photos</Name>"))
            let location = try await Self.send(client, .get, "/photos", query: [("location", "")])
            #expect(String(buffer: location.body).contains("LocationConstraint"))
            try await Self.send(client, .put, "/photos/a.txt", body: Array("x".utf8))
            let notEmpty = try await Self.send(client, .delete, "/photos")
            #expect(Self.xmlCode(notEmpty) == "BucketNotEmpty")
            try await Self.send(client, .delete, "/photos/a.txt")
            #expect(try await Self.send(client, .delete, "/photos").status == .noContent)
            let gone = try await Self.send(client, .get, "/photos", query: [("list-type", "2")])
            #expect(Self.xmlCode(gone) == "NoSuchBucket")
            #expect(gone.headers[.init("x-amz-request-id")!] != nil)
            #expect(String(buffer: gone.body).contains("<Resource>/photos</Resource>"))
        }
    }

    @Test("objects: put, get, head, ranges, metadata, conditions, delete")
    func objects() async throws {
        try await Self.makeApp().test(.router) { client in
            try await Self.send(client, .put, "/bkt")
            let body = Array("Hello, Hoist! 0123456789".utf8)
            let md5 = Data(Insecure.MD5.hash(data: body)).base64EncodedString()
            let put = try await Self.send(client, .put, "/bkt/dir/my file+1.txt",
                                          headers: [("Content-Type", "text/plain"), ("Content-MD5", md5),
                                                    ("x-amz-meta-Color", "blue"), ("Cache-Control", "max-age=60")], body: body)
            #expect(put.status == .ok)
            let etag = "\"\(Insecure.MD5.hash(data: body).map { String(format: "%02x", $0) }.joined())\""
            #expect(put.headers[.eTag] == etag)

            let get = try await Self.send(client, .get, "/bkt/dir/my file+1.txt")
            #expect(get.status == .ok)
            #expect(Array(get.body.readableBytesView) == body)
            #expect(get.headers[.contentType] == "text/plain")
            #expect(get.headers[.init("x-amz-meta-color")!] == "blue")
            #expect(get.headers[.cacheControl] == "max-age=60")
            #expect(get.headers[.eTag] == etag)

            let head = try await Self.send(client, .head, "/bkt/dir/my file+1.txt")
            #expect(head.status == .ok)
            #expect(head.headers[.contentLength] == String(body.count))
            #expect(head.body.readableBytes == 0)

            let range = try await Self.send(client, .get, "/bkt/dir/my file+1.txt", headers: [("Range", "bytes=0-4")])
            #expect(range.status == .partialContent)
            #expect(String(buffer: range.body) == "Hello")
            #expect(range.headers[.contentRange] == "bytes 0-4/\(body.count)")
            let suffix = try await Self.send(client, .get, "/bkt/dir/my file+1.txt", headers: [("Range", "bytes=-4")])
            #expect(String(buffer: suffix.body) == "6789")
            let bad = try await Self.send(client, .get, "/bkt/dir/my file+1.txt", headers: [("Range", "bytes=1000-")])
            #expect(bad.status == .rangeNotSatisfiable)
            #expect(Self.xmlCode(bad) == "InvalidRange")

            #expect(try await Self.send(client, .get, "/bkt/dir/my file+1.txt", headers: [("If-None-Match", etag)]).status == .notModified)
            #expect(try await Self.send(client, .get, "/bkt/dir/my file+1.txt", headers: [("If-Match", "\"nope\"")]).status == .preconditionFailed)
            #expect(try await Self.send(client, .get, "/bkt/dir/my file+1.txt", headers: [("If-Match", etag)]).status == .ok)

            let again = try await Self.send(client, .put, "/bkt/dir/my file+1.txt", headers: [("If-None-Match", "*")], body: body)
            #expect(again.status == .preconditionFailed)
            #expect(Self.xmlCode(again) == "PreconditionFailed")

            let wrongMD5 = try await Self.send(client, .put, "/bkt/x", headers: [("Content-MD5", md5)], body: Array("other".utf8))
            #expect(Self.xmlCode(wrongMD5) == "BadDigest")
            #expect(Self.xmlCode(try await Self.send(client, .get, "/bkt/x")) == "NoSuchKey")

            #expect(try await Self.send(client, .delete, "/bkt/dir/my file+1.txt").status == .noContent)
            #expect(Self.xmlCode(try await Self.send(client, .get, "/bkt/dir/my file+1.txt")) == "NoSuchKey")
        }
    }

    @Test("authentication: anonymous, bad signature, unknown key, signed body mismatch")
    func authentication() async throws {
        try await Self.makeApp().test(.router) { client in
            try await Self.send(client, .put, "/bkt")
            let anonymous = try await Self.send(client, .get, "/bkt/k", sign: false)
            #expect(anonymous.status == .forbidden)
            #expect(Self.xmlCode(anonymous) == "AccessDenied")

            // A body that differs from the signed x-amz-content-sha256.
            let signed = Self.signer.signHeaders(method: "PUT", host: "localhost", path: "/bkt/k", headers: [("Content-Length", "5")],
                                                 payloadHash: PayloadHash.sha256(of: Array("hello".utf8)), date: Date())
            var fields: HTTPFields = [:]
            for (name, value) in signed.headers where name.lowercased() != "host" { fields.append(HTTPField(name: .init(name)!, value: value)) }
            let mismatch = try await client.executeRequest(uri: "/bkt/k", method: .put, headers: fields, body: ByteBuffer(string: "jello"))
            #expect(Self.xmlCode(mismatch) == "XAmzContentSHA256Mismatch")
            #expect(Self.xmlCode(try await Self.send(client, .get, "/bkt/k")) == "NoSuchKey")

            let other = SigV4Signer(credentials: SigV4Credentials(accessKeyId: Self.credentials.accessKeyId, secretAccessKey: "wrong"), region: "us-east-1")
            let bad = other.signHeaders(method: "GET", host: "localhost", path: "/bkt", payloadHash: PayloadHash.emptySHA256, date: Date())
            var badFields: HTTPFields = [:]
            for (name, value) in bad.headers where name.lowercased() != "host" { badFields.append(HTTPField(name: .init(name)!, value: value)) }
            let rejected = try await client.executeRequest(uri: "/bkt", method: .get, headers: badFields, body: nil)
            #expect(Self.xmlCode(rejected) == "SignatureDoesNotMatch")
        }
    }

    @Test("pre-signed PUT binds its content type and expires")
    func presigned() async throws {
        try await Self.makeApp().test(.router) { client in
            try await Self.send(client, .put, "/bkt")
            let url = try Self.signer.presign(method: "PUT", scheme: "http", host: "localhost", path: "/bkt/img.png",
                                              headers: [("Content-Type", "image/png")], expires: 60, date: Date())
            let target = String(url.url.dropFirst("http://localhost".count))
            let wrongType = try await client.executeRequest(uri: target, method: .put, headers: [.contentType: "image/jpeg"], body: ByteBuffer(string: "png"))
            #expect(Self.xmlCode(wrongType) == "SignatureDoesNotMatch")
            let ok = try await client.executeRequest(uri: target, method: .put, headers: [.contentType: "image/png"], body: ByteBuffer(string: "png"))
            #expect(ok.status == .ok)
            let old = try Self.signer.presign(method: "GET", scheme: "http", host: "localhost", path: "/bkt/img.png", expires: 1,
                                              date: Date() - 10)
            let expired = try await client.executeRequest(uri: String(old.url.dropFirst("http://localhost".count)), method: .get, headers: [:], body: nil)
            #expect(Self.xmlCode(expired) == "AccessDenied")
            #expect(String(buffer: expired.body).contains("Request has expired"))
        }
    }

    @Test("aws-chunked uploads are decoded and every chunk checked")
    func chunked() async throws {
        try await Self.makeApp().test(.router) { client in
            try await Self.send(client, .put, "/bkt")
            let data = [UInt8](repeating: 0x61, count: 70_000)
            let date = Date()
            func upload(tamper: Bool) async throws -> TestResponse {
                let signed = Self.signer.signHeaders(method: "PUT", host: "localhost", path: "/bkt/chunked",
                                                     headers: [("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", String(data.count))],
                                                     payloadHash: PayloadHash.streaming, date: date)
                var chain = ChunkSigner(seedSignature: signed.signature, key: Self.signer.signingKey(for: AMZDate(date)),
                                        date: AMZDate(date), scope: "\(AMZDate(date).dateStamp)/us-east-1/s3/aws4_request")
                var body = chain.encode(chunk: Array(data[0..<65536])) + chain.encode(chunk: Array(data[65536...])) + chain.encode(chunk: []) + Array("\r\n".utf8)
                if tamper { body[100] = 0x62 }
                var fields: HTTPFields = [:]
                for (name, value) in signed.headers where name.lowercased() != "host" { fields.append(HTTPField(name: .init(name)!, value: value)) }
                return try await client.executeRequest(uri: "/bkt/chunked", method: .put, headers: fields, body: ByteBuffer(bytes: body))
            }
            let bad = try await upload(tamper: true)
            #expect(Self.xmlCode(bad) == "SignatureDoesNotMatch")
            #expect(Self.xmlCode(try await Self.send(client, .get, "/bkt/chunked")) == "NoSuchKey")
            #expect(try await upload(tamper: false).status == .ok)
            let get = try await Self.send(client, .get, "/bkt/chunked")
            #expect(Array(get.body.readableBytesView) == data)
            #expect(get.headers[.contentEncoding] == nil)
        }
    }

    @Test("listing: v2 with delimiter and pagination, v1, copy, multi-delete")
    func listing() async throws {
        try await Self.makeApp().test(.router) { client in
            try await Self.send(client, .put, "/bkt")
            for key in ["a/1", "a/2", "b/1", "c", "d/e/f"] {
                try await Self.send(client, .put, "/bkt/\(key)", body: Array(key.utf8))
            }
            let v2 = String(buffer: try await Self.send(client, .get, "/bkt", query: [("list-type", "2"), ("delimiter", "/")]).body)
            #expect(v2.contains("<Prefix>a/</Prefix>"))
            #expect(v2.contains("<Key>c</Key>"))
            #expect(!v2.contains("<Key>a/1</Key>"))
            let page1 = String(buffer: try await Self.send(client, .get, "/bkt", query: [("list-type", "2"), ("max-keys", "2")]).body)
            #expect(page1.contains("<IsTruncated>true</IsTruncated>"))
            let token = try #require(page1.range(of: "<NextContinuationToken>").flatMap { start in
                page1.range(of: "</NextContinuationToken>").map { String(page1[start.upperBound..<$0.lowerBound]) }
            })
            let page2 = String(buffer: try await Self.send(client, .get, "/bkt", query: [("list-type", "2"), ("max-keys", "2"), ("continuation-token", token)]).body)
            #expect(page2.contains("<Key>b/1</Key>") && page2.contains("<Key>c</Key>"))
            let v1 = String(buffer: try await Self.send(client, .get, "/bkt", query: [("marker", "b/1")]).body)
            #expect(v1.contains("<Key>c</Key>") && !v1.contains("<Key>a/1</Key>") && v1.contains("<Owner>"))

            let copy = try await Self.send(client, .put, "/bkt/copied", headers: [("x-amz-copy-source", "/bkt/a%2F1")])
            #expect(String(buffer: copy.body).contains("<CopyObjectResult"))
            #expect(String(buffer: try await Self.send(client, .get, "/bkt/copied").body) == "a/1")

            let xml = "<Delete><Quiet>false</Quiet><Object><Key>a/1</Key></Object><Object><Key>missing</Key></Object></Delete>"
            let md5 = Data(Insecure.MD5.hash(data: Array(xml.utf8))).base64EncodedString()
            let deleted = String(buffer: try await Self.send(client, .post, "/bkt", query: [("delete", "")], headers: [("Content-MD5", md5)], body: Array(xml.utf8)).body)
            #expect(deleted.contains("<Deleted><Key>a/1</Key></Deleted>"))
            #expect(Self.xmlCode(try await Self.send(client, .get, "/bkt/a/1")) == "NoSuchKey")
        }
    }

    @Test("CORS: configuration round trip, preflight, headers on responses and errors")
    func cors() async throws {
        try await Self.makeApp().test(.router) { client in
            try await Self.send(client, .put, "/bkt")
            #expect(Self.xmlCode(try await Self.send(client, .get, "/bkt", query: [("cors", "")])) == "NoSuchCORSConfiguration")
            let xml = """
                <CORSConfiguration><CORSRule><AllowedOrigin>http://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>\
                <AllowedMethod>GET</AllowedMethod><AllowedHeader>content-type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader>\
                <ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>
                """
            let md5 = Data(Insecure.MD5.hash(data: Array(xml.utf8))).base64EncodedString()
            #expect(try await Self.send(client, .put, "/bkt", query: [("cors", "")], headers: [("Content-MD5", md5)], body: Array(xml.utf8)).status == .ok)
            let stored = String(buffer: try await Self.send(client, .get, "/bkt", query: [("cors", "")]).body)
            #expect(stored.contains("<AllowedOrigin>http://*.example.com</AllowedOrigin>"))

            let allowed = try await client.executeRequest(uri: "/bkt/k.png", method: .options, headers: [
                .origin: "http://app.example.com", .accessControlRequestMethod: "PUT",
                .accessControlRequestHeaders: "Content-Type, x-amz-checksum-sha256",
            ], body: nil)
            #expect(allowed.status == .ok)
            #expect(allowed.headers[.accessControlAllowOrigin] == "http://app.example.com")
            #expect(allowed.headers[.accessControlMaxAge] == "600")
            #expect(allowed.headers[.accessControlAllowHeaders] == "content-type, x-amz-checksum-sha256")
            let denied = try await client.executeRequest(uri: "/bkt/k.png", method: .options, headers: [
                .origin: "http://evil.test", .accessControlRequestMethod: "PUT",
            ], body: nil)
            #expect(denied.status == .forbidden)
            let deniedHeader = try await client.executeRequest(uri: "/bkt/k.png", method: .options, headers: [
                .origin: "http://app.example.com", .accessControlRequestMethod: "PUT", .accessControlRequestHeaders: "x-custom",
            ], body: nil)
            #expect(deniedHeader.status == .forbidden)

            let error = try await Self.send(client, .get, "/bkt/missing", headers: [("Origin", "http://app.example.com")])
            #expect(error.status == .notFound)
            #expect(error.headers[.accessControlAllowOrigin] == "http://app.example.com")
            #expect(error.headers[.accessControlExposeHeaders] == "ETag")

            #expect(try await Self.send(client, .delete, "/bkt", query: [("cors", "")]).status == .noContent)
            #expect(Self.xmlCode(try await Self.send(client, .get, "/bkt", query: [("cors", "")])) == "NoSuchCORSConfiguration")
            let invalid = "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>"
            #expect(Self.xmlCode(try await Self.send(client, .put, "/bkt", query: [("cors", "")], body: Array(invalid.utf8))) == "InvalidRequest")
        }
    }
}
