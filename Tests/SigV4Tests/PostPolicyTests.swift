import Foundation
import SigV4
import Testing

@Suite("POST policies")
struct PostPolicyTests {
    static let verifier = SigV4VerifierTests.verifier
    static let signer = SigV4VerifierTests.signer
    static let now = SigV4VerifierTests.now

    static func form(key: String = "articles/42/raw/a.png", contentType: String = "image/png",
                     extra: [(String, String)] = [], expiration: Date? = nil) -> [(String, String)] {
        let policy = PostPolicy(expiration: expiration ?? now + 300, conditions: [
            .eq("bucket", "article-images"),
            .startsWith("$key", "articles/42/"),
            .eq("Content-Type", "image/png"),
            .eq("success_action_status", "201"),
            .contentLengthRange(1, 10_485_760),
        ])
        return [("key", key), ("Content-Type", contentType), ("success_action_status", "201")] + extra
            + signer.signPOSTPolicy(policy, date: now)
    }

    @Test("what we sign, we verify; the size range comes back")
    func roundTrip() throws {
        let result = try #require(try Self.verifier.verifyPOST(fields: Self.form(), bucket: "article-images", now: Self.now))
        #expect(result.contentLengthRange == 1...10_485_760)
        #expect(result.authentication.accessKeyId == SigV4VerifierTests.credentials.accessKeyId)
        #expect(result.policy.conditions.contains(.eq("x-amz-algorithm", "AWS4-HMAC-SHA256")))
        // Field names are case-insensitive.
        let upper = Self.form().map { ($0.0 == "x-amz-signature" ? "X-Amz-Signature" : $0.0 == "policy" ? "Policy" : $0.0, $0.1) }
        #expect(try Self.verifier.verifyPOST(fields: upper, bucket: "article-images", now: Self.now) != nil)
    }

    @Test("conditions are enforced with S3's codes")
    func refusals() throws {
        let f = Self.form()
        expectError(.accessDenied) { _ = try Self.verifier.verifyPOST(fields: Self.form(key: "articles/43/raw/a.png"), bucket: "article-images", now: Self.now) }
        expectError(.accessDenied) { _ = try Self.verifier.verifyPOST(fields: Self.form(contentType: "text/html"), bucket: "article-images", now: Self.now) }
        expectError(.accessDenied) { _ = try Self.verifier.verifyPOST(fields: Self.form(extra: [("acl", "public-read")]), bucket: "article-images", now: Self.now) }
        expectError(.accessDenied) { _ = try Self.verifier.verifyPOST(fields: f, bucket: "other-bucket", now: Self.now) }
        expectError(.accessDenied) { _ = try Self.verifier.verifyPOST(fields: f, bucket: "article-images", now: Self.now + 301) }
        #expect(try Self.verifier.verifyPOST(fields: f, bucket: "article-images", now: Self.now + 300) != nil)
        expectError(.accessDenied) {
            _ = try Self.verifier.verifyPOST(fields: f.filter { $0.0 != "success_action_status" }, bucket: "article-images", now: Self.now)
        }
        let tampered = f.map { $0.0 == "x-amz-signature" ? ($0.0, String($0.1.reversed())) : $0 }
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verifyPOST(fields: tampered, bucket: "article-images", now: Self.now) }
        let unknown = f.map { $0.0 == "x-amz-credential" ? ($0.0, $0.1.replacingOccurrences(of: "AKIDHOIST", with: "AKIDOTHER")) : $0 }
        expectError(.invalidAccessKeyId) { _ = try Self.verifier.verifyPOST(fields: unknown, bucket: "article-images", now: Self.now) }
        let notBase64 = f.map { $0.0 == "policy" ? ($0.0, "!!!") : $0 }
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verifyPOST(fields: notBase64, bucket: "article-images", now: Self.now) }
        expectError(.invalidArgument) { _ = try Self.verifier.verifyPOST(fields: f + [("Key", "dup")], bucket: "article-images", now: Self.now) }
        expectError(.invalidArgument) { _ = try Self.verifier.verifyPOST(fields: f.filter { $0.0 != "policy" }, bucket: "article-images", now: Self.now) }
        #expect(try Self.verifier.verifyPOST(fields: [("key", "anon.png")], bucket: "article-images", now: Self.now) == nil)
    }

    @Test("a correctly signed but malformed policy is InvalidPolicyDocument")
    func malformedPolicy() throws {
        let key = Self.signer.signingKey(for: AMZDate(Self.now))
        for document in ["[]", "{\"conditions\":[]}", "{\"expiration\":\"tomorrow\",\"conditions\":[]}",
                         "{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[[\"between\",\"$key\",\"a\"]]}",
                         "{\"expiration\":\"2030-01-01T00:00:00Z\",\"conditions\":[[\"content-length-range\",10,1]]}"] {
            let policy = Data(document.utf8).base64EncodedString()
            let fields: [(String, String)] = [
                ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
                ("x-amz-credential", "\(SigV4VerifierTests.credentials.accessKeyId)/\(AMZDate(Self.now).dateStamp)/us-east-1/s3/aws4_request"),
                ("x-amz-date", AMZDate(Self.now).amzString), ("policy", policy), ("x-amz-signature", key.hexSignature(of: policy)),
            ]
            expectError(.invalidPolicyDocument) { _ = try Self.verifier.verifyPOST(fields: fields, bucket: "b", now: Self.now) }
        }
    }

    @Test("the JSON document round-trips through the parser")
    func documentRoundTrip() throws {
        let policy = PostPolicy(expiration: Date(timeIntervalSince1970: 1_800_000_000), conditions: [
            .eq("bucket", "b"), .startsWith("key", "quote\"and\\slash/"), .contentLengthRange(0, 5),
        ])
        let parsed = try PostPolicy(jsonDocument: Data(policy.jsonDocument.utf8))
        #expect(parsed.expiration == policy.expiration)
        #expect(parsed.conditions == [.eq("bucket", "b"), .startsWith("key", "quote\"and\\slash/"), .contentLengthRange(0, 5)])
        #expect(policy.jsonDocument.contains("\"expiration\":\"2027-01-15T08:00:00.000Z\""))
    }
}
