import Foundation
import SigV4
import Testing

/// The worked examples of the Amazon S3 API Reference (`Resources/vectors/s3`),
/// plus the derived path-style examples: exact canonical requests, strings to
/// sign and signatures, and acceptance by our verifier.
@Suite("S3 signature examples")
struct S3VectorTests {
    static let credentials = SigV4Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                                              secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
    static let verifier = SigV4Verifier(credentials: StaticCredentialStore([credentials]))

    static let headerCases = ["header-get-object", "header-put-object", "header-list-objects", "header-get-bucket-lifecycle"]

    static func load(_ name: String) throws -> [String: Any] {
        try Vectors.json(Vectors.s3.appendingPathComponent("\(name).json"))
    }

    static func pairs(_ any: Any?) -> [(String, String)] {
        (any as? [[String]] ?? []).map { ($0[0], $0[1]) }
    }

    static func date(_ v: [String: Any]) -> Date { AMZDate(amz: v["timestamp"] as? String ?? "")?.date ?? .distantPast }

    @Test("the example files are present")
    func present() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Vectors.s3.path).filter { $0.hasSuffix(".json") }
        #expect(names.count == 9, "expected 9 example files in \(Vectors.s3.path)")
    }

    @Test("header-signed examples sign and verify", arguments: headerCases)
    func headerExample(_ name: String) throws {
        let v = try Self.load(name)
        let request = v["request"] as? [String: Any] ?? [:]
        let expected = v["expected"] as? [String: Any] ?? [:]
        let headers = Self.pairs(request["headers"])
        let host = headers.first { $0.0 == "Host" }?.1 ?? ""
        let payload = headers.first { $0.0 == "x-amz-content-sha256" }?.1 ?? ""
        let query = (request["query"] as? String ?? "").split(separator: "&").map { part -> (String, String) in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(kv[0]), kv.count > 1 ? String(kv[1]) : "")
        }
        let signed = Self.signer.signHeaders(method: request["method"] as? String ?? "", host: host,
                                             path: request["path"] as? String ?? "", query: query,
                                             headers: headers.filter { $0.0 != "Host" }, payloadHash: payload,
                                             date: Self.date(v))
        #expect(signed.canonicalRequest == expected["canonical_request"] as? String)
        #expect(signed.stringToSign == expected["string_to_sign"] as? String)
        #expect(signed.signature == expected["signature"] as? String)
        #expect(signed.authorization.replacingOccurrences(of: ", ", with: ",") == expected["authorization"] as? String)

        // AWS prints the header without spaces after commas, SDKs with: both verify.
        let wirePath = request["path_on_wire"] as? String ?? request["path"] as? String ?? ""
        let rawQuery = request["query"] as? String ?? ""
        for authorization in [expected["authorization"] as? String ?? "", signed.authorization] {
            let received = ReceivedRequest(method: request["method"] as? String ?? "", path: wirePath, query: rawQuery,
                                           headers: headers + [("Authorization", authorization)])
            let auth = try Self.verifier.verify(received, now: Self.date(v) + 60)
            #expect(auth?.kind == .header)
            #expect(auth?.payloadHash == payload)
        }
    }

    @Test("pre-signed GET example")
    func presignedGet() throws {
        let v = try Self.load("presigned-get-object")
        let expected = v["expected"] as? [String: Any] ?? [:]
        let p = try Self.signer.presign(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt",
                                        expires: v["expires_seconds"] as? Int ?? 0, date: Self.date(v))
        #expect(p.canonicalRequest == expected["canonical_request"] as? String)
        #expect(p.stringToSign == expected["string_to_sign"] as? String)
        #expect(p.url == expected["url"] as? String)
        let target = (expected["url"] as? String ?? "").replacingOccurrences(of: "https://examplebucket.s3.amazonaws.com", with: "")
        let auth = try Self.verifier.verify(ReceivedRequest(method: "GET", target: target,
                                                            headers: [("Host", "examplebucket.s3.amazonaws.com")]),
                                            now: Self.date(v) + 86400)
        #expect(auth?.kind == .query)
        expectError(.accessDenied) {
            _ = try Self.verifier.verify(ReceivedRequest(method: "GET", target: target,
                                                         headers: [("Host", "examplebucket.s3.amazonaws.com")]),
                                         now: Self.date(v) + 86401)
        }
    }

    @Test("derived path-style examples (port in host, awkward keys, versionId)")
    func derivedPathStyle() throws {
        let v = try Self.load("derived-path-style")
        let presigned = v["presigned"] as? [[String: Any]] ?? []
        #expect(presigned.count == 3)
        for case_ in presigned {
            let p = try Self.signer.presign(method: case_["method"] as? String ?? "", scheme: "http",
                                            host: case_["host"] as? String ?? "", path: case_["path"] as? String ?? "",
                                            query: Self.pairs(case_["extra_query"]),
                                            expires: case_["expires_seconds"] as? Int ?? 0, date: Self.date(v))
            #expect(p.canonicalRequest == case_["canonical_request"] as? String)
            #expect(p.stringToSign == case_["string_to_sign"] as? String)
            #expect(p.signature == case_["signature"] as? String)
            // The published URL (botocore's query order) verifies.
            let url = case_["url"] as? String ?? ""
            let target = String(url.dropFirst("http://127.0.0.1:9000".count))
            let auth = try Self.verifier.verify(ReceivedRequest(method: case_["method"] as? String ?? "", target: target,
                                                                headers: [("Host", "127.0.0.1:9000")]), now: Self.date(v))
            #expect(auth?.signature == case_["signature"] as? String)
        }
        let put = v["header_put"] as? [String: Any] ?? [:]
        let headers = Self.pairs(put["headers"])
        let signed = Self.signer.signHeaders(method: "PUT", host: "127.0.0.1:9000", path: "/examplebucket/dir/hello.txt",
                                             headers: headers.filter { $0.0 != "host" },
                                             payloadHash: PayloadHash.sha256(of: Array("hello world".utf8)), date: Self.date(v))
        #expect(signed.canonicalRequest == put["canonical_request"] as? String)
        #expect(signed.signature == put["signature"] as? String)
        #expect(signed.authorization == put["authorization_as_sent_by_botocore"] as? String)
    }

    @Test("browser POST policy example")
    func postPolicy() throws {
        let v = try Self.load("post-object-policy")
        let expected = v["expected"] as? [String: Any] ?? [:]
        let document = v["policy_document"] as? String ?? ""
        let form = (v["form"] as? [String: Any])?["fields_in_order"] as? [[String]] ?? []
        let fields = form.filter { $0[0] != "file" }.map { ($0[0], $0[1]) }
        let policyField = fields.first { $0.0 == "Policy" }?.1 ?? ""
        #expect(Data(document.utf8).base64EncodedString() == policyField)
        let key = SigningKey(secretAccessKey: Self.credentials.secretAccessKey, date: "20151229", region: "us-east-1", service: "s3")
        #expect(hexString(key.bytes) == expected["signing_key_hex"] as? String)
        #expect(key.hexSignature(of: policyField) == expected["signature"] as? String)

        let now = AMZDate(amz: "20151229T120000Z")!.date
        let result = try Self.verifier.verifyPOST(fields: fields, bucket: "sigv4examplebucket", now: now)
        #expect(result?.authentication.kind == .post)
        #expect(result?.policy.conditions.count == 11)

        // After the policy's expiration (2015-12-30T12:00:00Z).
        expectError(.accessDenied) {
            _ = try Self.verifier.verifyPOST(fields: fields, bucket: "sigv4examplebucket", now: AMZDate(amz: "20151230T120001Z")!.date)
        }
        // Another bucket, another content type, a key outside the prefix, an extra field, a changed policy.
        expectError(.accessDenied) { _ = try Self.verifier.verifyPOST(fields: fields, bucket: "other", now: now) }
        func replacing(_ name: String, _ value: String) -> [(String, String)] {
            fields.map { $0.0 == name ? ($0.0, value) : $0 }
        }
        expectError(.accessDenied) {
            _ = try Self.verifier.verifyPOST(fields: replacing("Content-Type", "text/html"), bucket: "sigv4examplebucket", now: now)
        }
        expectError(.accessDenied) {
            _ = try Self.verifier.verifyPOST(fields: replacing("key", "user/user2/x"), bucket: "sigv4examplebucket", now: now)
        }
        expectError(.accessDenied) {
            _ = try Self.verifier.verifyPOST(fields: fields + [("x-amz-meta-extra", "1")], bucket: "sigv4examplebucket", now: now)
        }
        let tampered = Data(document.replacingOccurrences(of: "user/user1/", with: "user/").utf8).base64EncodedString()
        expectError(.signatureDoesNotMatch) {
            _ = try Self.verifier.verifyPOST(fields: replacing("Policy", tampered), bucket: "sigv4examplebucket", now: now)
        }
        // Fields exempt from conditions are allowed.
        #expect(try Self.verifier.verifyPOST(fields: fields + [("x-ignore-tracking", "1")], bucket: "sigv4examplebucket", now: now) != nil)
    }
}

/// Lowercase hex, written independently of the library's encoder.
func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    bytes.map { String(format: "%02x", $0) }.joined()
}
