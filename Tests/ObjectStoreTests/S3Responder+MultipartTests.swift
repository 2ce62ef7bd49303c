import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ObjectStore
import ObjectStoreEngine
import SigV4
import Testing

/// Multipart uploads, lifecycle configuration and browser form uploads through the routes.
@Suite("S3 routes: multipart, lifecycle, POST object")
struct S3ResponderMultipartTests {
    typealias T = S3ServerTests
    static let mib = 1024 * 1024

    static func field(_ xml: String, _ name: String) -> String? {
        guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else { return nil }
        return String(xml[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&quot;", with: "\"")
    }

    @Test("multipart: create, upload parts, list, complete, errors, abort")
    func multipart() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let created = try await T.send(client, .post, "/bkt/big.bin", query: [("uploads", "")], headers: [("Content-Type", "image/png")])
            #expect(created.status == .ok)
            let uploadId = try #require(Self.field(String(buffer: created.body), "UploadId"))

            let one = [UInt8](repeating: 0x61, count: 5 * Self.mib)
            let two = Array("the tail".utf8)
            let checksum = Data(SHA256.hash(data: two)).base64EncodedString()
            let p1 = try await T.send(client, .put, "/bkt/big.bin", query: [("partNumber", "1"), ("uploadId", uploadId)], body: one)
            #expect(p1.status == .ok)
            let p2 = try await T.send(client, .put, "/bkt/big.bin", query: [("partNumber", "2"), ("uploadId", uploadId)],
                                      headers: [("x-amz-checksum-sha256", checksum)], body: two)
            #expect(p2.status == .ok)
            #expect(p2.headers[.init("x-amz-checksum-sha256")!] == checksum)
            let badSum = try await T.send(client, .put, "/bkt/big.bin", query: [("partNumber", "3"), ("uploadId", uploadId)],
                                          headers: [("x-amz-checksum-sha256", checksum)], body: Array("other".utf8))
            #expect(T.xmlCode(badSum) == "BadDigest")
            let badNumber = try await T.send(client, .put, "/bkt/big.bin", query: [("partNumber", "0"), ("uploadId", uploadId)], body: two)
            #expect(T.xmlCode(badNumber) == "InvalidArgument")
            let noUpload = try await T.send(client, .put, "/bkt/big.bin", query: [("partNumber", "1"), ("uploadId", "nope")], body: two)
            #expect(noUpload.status == .notFound)
            #expect(T.xmlCode(noUpload) == "NoSuchUpload")

            let parts = String(buffer: try await T.send(client, .get, "/bkt/big.bin", query: [("uploadId", uploadId), ("max-parts", "1")]).body)
            #expect(Self.field(parts, "IsTruncated") == "true")
            #expect(Self.field(parts, "NextPartNumberMarker") == "1")
            let rest = String(buffer: try await T.send(client, .get, "/bkt/big.bin", query: [("uploadId", uploadId), ("part-number-marker", "1")]).body)
            #expect(Self.field(rest, "PartNumber") == "2")
            #expect(Self.field(rest, "Size") == String(two.count))

            let uploads = String(buffer: try await T.send(client, .get, "/bkt", query: [("uploads", "")]).body)
            #expect(Self.field(uploads, "UploadId") == uploadId)
            #expect(Self.field(uploads, "Key") == "big.bin")

            let e1 = try #require(p1.headers[.eTag]), e2 = try #require(p2.headers[.eTag])
            func completion(_ parts: [(Int, String)]) -> [UInt8] {
                Array(("<CompleteMultipartUpload>" + parts.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\($0.1)</ETag></Part>" }.joined()
                       + "</CompleteMultipartUpload>").utf8)
            }
            let wrongOrder = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)], body: completion([(2, e2), (1, e1)]))
            #expect(T.xmlCode(wrongOrder) == "InvalidPartOrder")
            let wrongTag = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)], body: completion([(1, e2), (2, e2)]))
            #expect(T.xmlCode(wrongTag) == "InvalidPart")
            let missing = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)], body: completion([(2, e2), (3, e2)]))
            #expect(T.xmlCode(missing) == "InvalidPart")
            // A list of 10,000 parts with checksums is over 1 MiB of XML: read whole, then refused for its parts.
            let huge = "<CompleteMultipartUpload>" + (1...10_000).map {
                "<Part><PartNumber>\($0)</PartNumber><ETag>\(e1)</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>"
            }.joined() + "</CompleteMultipartUpload>"
            #expect(huge.utf8.count > 1 << 20)
            let manyParts = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)], body: Array(huge.utf8))
            #expect(T.xmlCode(manyParts) == "InvalidPart")
            let empty = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)], body: Array("<CompleteMultipartUpload/>".utf8))
            #expect(T.xmlCode(empty) == "MalformedXML")

            let done = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)], body: completion([(1, e1), (2, e2)]))
            #expect(done.status == .ok)
            let etag = try #require(Self.field(String(buffer: done.body), "ETag"))
            #expect(etag.hasSuffix("-2\""))
            let get = try await T.send(client, .get, "/bkt/big.bin")
            #expect(Array(get.body.readableBytesView) == one + two)
            #expect(get.headers[.eTag] == etag.replacingOccurrences(of: "&quot;", with: "\""))
            #expect(get.headers[.contentType] == "image/png")
            // The object is its two parts' files: a range across the boundary reads from both.
            let boundary = one.count
            let ranged = try await T.send(client, .get, "/bkt/big.bin", headers: [("Range", "bytes=\(boundary - 3)-\(boundary + 2)")])
            #expect(ranged.status == .partialContent)
            #expect(Array(ranged.body.readableBytesView) == Array((one + two)[(boundary - 3)...(boundary + 2)]))
            #expect(ranged.headers[.contentRange] == "bytes \(boundary - 3)-\(boundary + 2)/\(one.count + two.count)")
            // Completing again with the same list is a retry: the same answer (S3ResponderFidelityTests);
            // with another list the upload is gone.
            let again = try await T.send(client, .post, "/bkt/big.bin", query: [("uploadId", uploadId)], body: completion([(1, e1)]))
            #expect(T.xmlCode(again) == "NoSuchUpload")

            let other = try await T.send(client, .post, "/bkt/gone.bin", query: [("uploads", "")])
            let otherId = try #require(Self.field(String(buffer: other.body), "UploadId"))
            try await T.send(client, .put, "/bkt/gone.bin", query: [("partNumber", "1"), ("uploadId", otherId)], body: two)
            #expect(try await T.send(client, .delete, "/bkt/gone.bin", query: [("uploadId", otherId)]).status == .noContent)
            #expect(T.xmlCode(try await T.send(client, .get, "/bkt/gone.bin", query: [("uploadId", otherId)])) == "NoSuchUpload")
        }
    }

    @Test("a long completion answers 200 at once, then its result or an <Error> document")
    func completionKeepAlive() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-store-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try StorageEngine(directory: directory)
        // Patience zero: every completion takes the keep-alive path.
        let responder = S3Responder(engine: engine, credentials: [T.credentials],
                                    completionKeepAlive: CompletionKeepAlive(patience: .zero, interval: .milliseconds(1)))
        try await Application(responder: responder).test(.router) { client in
            try await T.send(client, .put, "/bkt")
            func upload(_ key: String) async throws -> (String, String) {
                let created = try await T.send(client, .post, "/bkt/\(key)", query: [("uploads", "")])
                let uploadId = try #require(Self.field(String(buffer: created.body), "UploadId"))
                let part = try await T.send(client, .put, "/bkt/\(key)", query: [("partNumber", "1"), ("uploadId", uploadId)],
                                            body: [UInt8](repeating: 7, count: 3 * Self.mib))
                let body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(part.headers[.eTag] ?? "")</ETag></Part></CompleteMultipartUpload>"
                return (uploadId, body)
            }
            let (first, firstList) = try await upload("k")
            let done = try await T.send(client, .post, "/bkt/k", query: [("uploadId", first)], body: Array(firstList.utf8))
            #expect(done.status == .ok)
            let text = String(buffer: done.body)
            #expect(text.hasPrefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"))
            #expect(text.contains("<CompleteMultipartUploadResult"))
            #expect(Self.field(text, "ETag")?.hasSuffix("-1\"") == true)
            #expect(try await T.send(client, .head, "/bkt/k").status == .ok)

            // A failure that happens after the 200 is reported in the body, as S3 does.
            let (second, secondList) = try await upload("k")
            let refused = try await T.send(client, .post, "/bkt/k", query: [("uploadId", second)], headers: [("If-None-Match", "*")],
                                           body: Array(secondList.utf8))
            #expect(refused.status == .ok)
            #expect(T.xmlCode(refused) == "PreconditionFailed")
            #expect(String(buffer: refused.body).contains("<RequestId>\(refused.headers[.init("x-amz-request-id")!] ?? "?")</RequestId>"))
            // The refused completion left the upload as it was.
            #expect(try await T.send(client, .get, "/bkt/k", query: [("uploadId", second)]).status == .ok)
        }
    }

    @Test("UploadPartCopy takes a byte range of an object")
    func uploadPartCopy() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            try await T.send(client, .put, "/bkt/src", body: Array("0123456789".utf8))
            let created = try await T.send(client, .post, "/bkt/dst", query: [("uploads", "")])
            let uploadId = try #require(Self.field(String(buffer: created.body), "UploadId"))
            let copy = try await T.send(client, .put, "/bkt/dst", query: [("partNumber", "1"), ("uploadId", uploadId)],
                                        headers: [("x-amz-copy-source", "/bkt/src"), ("x-amz-copy-source-range", "bytes=2-5")])
            #expect(copy.status == .ok)
            let etag = try #require(Self.field(String(buffer: copy.body), "ETag")).replacingOccurrences(of: "&quot;", with: "\"")
            let done = try await T.send(client, .post, "/bkt/dst", query: [("uploadId", uploadId)],
                                        body: Array("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>".utf8))
            #expect(done.status == .ok)
            #expect(String(buffer: try await T.send(client, .get, "/bkt/dst").body) == "2345")
            let outside = try await T.send(client, .put, "/bkt/dst", query: [("partNumber", "1"), ("uploadId", uploadId)],
                                           headers: [("x-amz-copy-source", "/bkt/src"), ("x-amz-copy-source-range", "bytes=2-50")])
            #expect(T.xmlCode(outside) == "InvalidRange")
        }
    }

    @Test("lifecycle configuration: put, get, delete, validation")
    func lifecycle() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            #expect(T.xmlCode(try await T.send(client, .get, "/bkt", query: [("lifecycle", "")])) == "NoSuchLifecycleConfiguration")
            let document = """
                <LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>parts</ID><Filter><Prefix>tmp/</Prefix></Filter>\
                <Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>\
                <Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>
                """
            #expect(try await T.send(client, .put, "/bkt", query: [("lifecycle", "")], body: Array(document.utf8)).status == .ok)
            let got = String(buffer: try await T.send(client, .get, "/bkt", query: [("lifecycle", "")]).body)
            #expect(Self.field(got, "Prefix") == "tmp/")
            #expect(Self.field(got, "DaysAfterInitiation") == "2")
            #expect(Self.field(got, "Days") == "30")
            let zero = document.replacingOccurrences(of: "<Days>30</Days>", with: "<Days>0</Days>")
            #expect(T.xmlCode(try await T.send(client, .put, "/bkt", query: [("lifecycle", "")], body: Array(zero.utf8))) == "InvalidArgument")
            let transition = document.replacingOccurrences(of: "<Expiration><Days>30</Days></Expiration>",
                                                           with: "<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>")
            #expect(T.xmlCode(try await T.send(client, .put, "/bkt", query: [("lifecycle", "")], body: Array(transition.utf8))) == "NotImplemented")
            #expect(T.xmlCode(try await T.send(client, .put, "/bkt", query: [("lifecycle", "")], body: Array("<nope/>".utf8))) == "MalformedXML")
            #expect(try await T.send(client, .delete, "/bkt", query: [("lifecycle", "")]).status == .noContent)
            #expect(T.xmlCode(try await T.send(client, .get, "/bkt", query: [("lifecycle", "")])) == "NoSuchLifecycleConfiguration")
        }
    }

    // MARK: POST object

    static func form(_ fields: [(String, String)], file: [UInt8], filename: String? = "photo.png", boundary: String = "hoistBoundary7MA4YWxk") -> [UInt8] {
        var body: [UInt8] = []
        for (name, value) in fields {
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
        }
        let filenamePart = filename.map { "; filename=\"\($0)\"" } ?? ""
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"\(filenamePart)\r\nContent-Type: image/png\r\n\r\n".utf8)
        body += file
        body += Array("\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"ignored\"\r\n\r\nafter the file\r\n--\(boundary)--\r\n".utf8)
        return body
    }

    static func post(_ client: some TestClientProtocol, _ body: [UInt8], boundary: String = "hoistBoundary7MA4YWxk") async throws -> TestResponse {
        try await client.executeRequest(uri: "/bkt", method: .post,
                                        headers: [.contentType: "multipart/form-data; boundary=\(boundary)"], body: ByteBuffer(bytes: body))
    }

    static func signedFields(key: String, extra: [(String, String)] = [], conditions: [PostPolicy.Condition],
                             expiration: Date = Date() + 300, date: Date = Date()) -> [(String, String)] {
        let policy = PostPolicy(expiration: expiration, conditions: conditions)
        return [("key", key)] + extra + T.signer.signPOSTPolicy(policy, date: date)
    }

    @Test("POST object: a signed form uploads; every policy rule is enforced")
    func postObject() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let conditions: [PostPolicy.Condition] = [
                .eq("bucket", "bkt"), .startsWith("key", "uploads/"), .eq("Content-Type", "image/png"),
                .startsWith("x-amz-meta-owner", ""), .eq("success_action_status", "201"), .contentLengthRange(4, 4096),
            ]
            let extra = [("Content-Type", "image/png"), ("x-amz-meta-owner", "ann"), ("success_action_status", "201")]
            // The file holds bytes that look like the start of a boundary.
            let file = Array("\r\n--hoistBoundary7MA4YWx not quite\r\n--".utf8) + [UInt8](repeating: 0x89, count: 1000)
            let ok = try await Self.post(client, Self.form(Self.signedFields(key: "uploads/${filename}", extra: extra, conditions: conditions), file: file))
            #expect(ok.status == .created)
            let xml = String(buffer: ok.body)
            #expect(Self.field(xml, "Key") == "uploads/photo.png")
            #expect(Self.field(xml, "Bucket") == "bkt")
            let get = try await T.send(client, .get, "/bkt/uploads/photo.png")
            #expect(Array(get.body.readableBytesView) == file)
            #expect(get.headers[.contentType] == "image/png")
            #expect(get.headers[.init("x-amz-meta-owner")!] == "ann")
            #expect(get.headers[.init("x-amz-meta-ignored")!] == nil)

            // Refusals.
            let big = try await Self.post(client, Self.form(Self.signedFields(key: "uploads/a", extra: extra, conditions: conditions),
                                                            file: [UInt8](repeating: 1, count: 5000)))
            #expect(T.xmlCode(big) == "EntityTooLarge")
            let small = try await Self.post(client, Self.form(Self.signedFields(key: "uploads/a", extra: extra, conditions: conditions), file: [1]))
            #expect(T.xmlCode(small) == "EntityTooSmall")
            let prefix = try await Self.post(client, Self.form(Self.signedFields(key: "elsewhere/a", extra: extra, conditions: conditions), file: file))
            #expect(prefix.status == .forbidden)
            #expect(T.xmlCode(prefix) == "AccessDenied")
            let type = [("Content-Type", "text/html"), ("x-amz-meta-owner", "ann"), ("success_action_status", "201")]
            #expect(T.xmlCode(try await Self.post(client, Self.form(Self.signedFields(key: "uploads/a", extra: type, conditions: conditions), file: file))) == "AccessDenied")
            let expired = Self.signedFields(key: "uploads/a", extra: extra, conditions: conditions, expiration: Date() - 60, date: Date() - 120)
            let expiredResponse = try await Self.post(client, Self.form(expired, file: file))
            #expect(T.xmlCode(expiredResponse) == "AccessDenied")
            #expect(String(buffer: expiredResponse.body).contains("expired"))
            var tampered = Self.signedFields(key: "uploads/a", extra: extra, conditions: conditions)
            if let index = tampered.firstIndex(where: { $0.0 == "policy" }) {
                let document = String(decoding: Data(base64Encoded: tampered[index].1) ?? Data(), as: UTF8.self)
                    .replacingOccurrences(of: "4096", with: "999999")
                tampered[index].1 = Data(document.utf8).base64EncodedString()
            }
            #expect(T.xmlCode(try await Self.post(client, Self.form(tampered, file: file))) == "SignatureDoesNotMatch")
            let uncovered = Self.signedFields(key: "uploads/a", extra: extra + [("x-amz-meta-extra", "1")], conditions: conditions)
            #expect(T.xmlCode(try await Self.post(client, Self.form(uncovered, file: file))) == "AccessDenied")
            let anonymous = try await Self.post(client, Self.form([("key", "uploads/a")], file: file))
            #expect(T.xmlCode(anonymous) == "AccessDenied")
            let noFile = try await Self.post(client, Array("--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nx\r\n--b--\r\n".utf8), boundary: "b")
            #expect(T.xmlCode(noFile) == "InvalidArgument")
            #expect(T.xmlCode(try await Self.post(client, Array("garbage".utf8))) == "MalformedPOSTRequest")
            // None of the refused forms left anything behind.
            let list = String(buffer: try await T.send(client, .get, "/bkt", query: [("list-type", "2")]).body)
            #expect(Self.field(list, "KeyCount") == "1")
        }
    }

    @Test("POST object: 204 by default, 200, redirect, fields with a filename attribute")
    func postObjectResponses() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let plain = try await Self.post(client, Self.form(Self.signedFields(key: "a.txt", conditions: [.eq("key", "a.txt")]), file: Array("A".utf8)))
            #expect(plain.status == .noContent)
            #expect(plain.headers[.eTag] != nil)
            let two = try await Self.post(client, Self.form(Self.signedFields(key: "b.txt", extra: [("success_action_status", "200")],
                                                                             conditions: [.eq("key", "b.txt"), .eq("success_action_status", "200")]),
                                                           file: Array("B".utf8), filename: nil))
            #expect(two.status == .ok)
            let redirect = try await Self.post(client, Self.form(Self.signedFields(
                key: "c.txt", extra: [("success_action_redirect", "https://app.test/done?x=1")],
                conditions: [.eq("key", "c.txt"), .startsWith("success_action_redirect", "https://app.test/")]), file: Array("C".utf8)))
            #expect(redirect.status == .seeOther)
            #expect(redirect.headers[.location]?.hasPrefix("https://app.test/done?x=1&bucket=bkt&key=c.txt&etag=") == true)
            // A field part that carries a filename attribute is still a field.
            let boundary = "XyZ"
            var body: [UInt8] = []
            for (name, value) in Self.signedFields(key: "d.txt", conditions: [.eq("key", "d.txt")]) {
                body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"blob\"\r\n\r\n\(value)\r\n".utf8)
            }
            body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.txt\"\r\n\r\nDDD\r\n--\(boundary)--".utf8)
            #expect(try await Self.post(client, body, boundary: boundary).status == .noContent)
            #expect(String(buffer: try await T.send(client, .get, "/bkt/d.txt").body) == "DDD")
        }
    }
}
