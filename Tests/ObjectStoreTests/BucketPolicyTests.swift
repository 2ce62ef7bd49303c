import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import ObjectStore
import Testing

@Suite("Bucket policy and Block Public Access")
struct BucketPolicyTests {
    typealias T = S3ServerTests

    static func policy(_ json: String, bucket: String = "site") throws -> BucketPolicy {
        try BucketPolicy(json: Data(json.utf8), bucket: bucket, resource: "/\(bucket)")
    }

    static let publicThumbnails = """
        {"Version": "2012-10-17", "Statement": [
          {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": ["arn:aws:s3:::site/public/*", "arn:aws:s3:::site/logo.png"]},
          {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::site/public/drafts/*"}]}
        """

    @Test("allow and deny by key pattern; a Deny wins")
    func evaluation() throws {
        let p = try Self.policy(Self.publicThumbnails)
        #expect(p.allowsPublicRead(of: "public/a/b.webp", secureTransport: false))
        #expect(p.allowsPublicRead(of: "logo.png", secureTransport: false))
        #expect(!p.allowsPublicRead(of: "logo.png.bak", secureTransport: false))
        #expect(!p.allowsPublicRead(of: "public/drafts/x.webp", secureTransport: false))
        #expect(!p.allowsPublicRead(of: "private/x", secureTransport: false))
        #expect(p.isPublic)
    }

    @Test("aws:SecureTransport conditions")
    func secureTransport() throws {
        let tlsOnly = try Self.policy("""
            {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*",
             "Condition": {"Bool": {"aws:SecureTransport": "true"}}}}
            """)
        #expect(!tlsOnly.allowsPublicRead(of: "a", secureTransport: false))
        #expect(tlsOnly.allowsPublicRead(of: "a", secureTransport: true))
        let denyPlain = try Self.policy("""
            {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*"},
             {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::site/*",
              "Condition": {"Bool": {"aws:SecureTransport": ["false"]}}}]}
            """)
        #expect(!denyPlain.allowsPublicRead(of: "a", secureTransport: false))
        #expect(denyPlain.allowsPublicRead(of: "a", secureTransport: true))
    }

    @Test("wildcards: * any run, ? one character")
    func wildcards() {
        let cases: [(String, String, Bool)] = [
            ("*", "", true), ("*", "anything/at/all", true), ("a*c", "abbbc", true), ("a*c", "abbbd", false),
            ("a?c", "abc", true), ("a?c", "ac", false), ("*.webp", "x/y.webp", true), ("*.webp", "x/y.webpx", false),
            ("p/*/t.*", "p/1/2/t.png", true), ("", "", true), ("", "a", false), ("日本/*", "日本/x", true), ("**a", "bba", true),
        ]
        for (pattern, key, expected) in cases {
            #expect(BucketPolicy.matches(pattern: pattern, key: key) == expected, "\(pattern) ~ \(key)")
        }
        // Linear space and bounded time on an adversarial pattern.
        let key = String(repeating: "a", count: 1024)
        #expect(!BucketPolicy.matches(pattern: String(repeating: "*a", count: 500) + "b", key: key))
    }

    @Test("what the store cannot evaluate is refused, not ignored", arguments: [
        "", "[]", "{\"Statement\": []}", "{\"Version\": \"2020-01-01\", \"Statement\": []}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:PutObject\", \"Resource\": \"arn:aws:s3:::site/*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:*\", \"Resource\": \"arn:aws:s3:::site/*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::123456789012:root\"}, \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::site/*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::other/*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::site\"}}",
        "{\"Statement\": {\"Effect\": \"Maybe\", \"Principal\": \"*\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::site/*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"NotAction\": \"s3:PutObject\", \"Resource\": \"arn:aws:s3:::site/*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::site/*\", \"Condition\": {\"IpAddress\": {\"aws:SourceIp\": \"10.0.0.0/8\"}}}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": [], \"Resource\": \"arn:aws:s3:::site/*\"}}",
        "{\"Statement\": {\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": [1], \"Resource\": \"arn:aws:s3:::site/*\"}}",
        "{\"Statement\": [{\"Effect\": \"Allow\", \"Principal\": \"*\", \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::site/*\"}], \"Extra\": 1}",
    ])
    func refusals(_ json: String) {
        let error = #expect(throws: S3Error.self) { _ = try Self.policy(json) }
        #expect(error?.code == .malformedPolicy)
    }

    @Test("anonymous GET and HEAD through a policy; everything else stays private")
    func anonymousReads() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/site")
            try await T.send(client, .put, "/site/public/a.webp", body: Array("public bytes".utf8))
            try await T.send(client, .put, "/site/private/b.webp", body: Array("secret".utf8))
            try await T.send(client, .put, "/site", query: [("cors", "")], body: Array("""
                <CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>
                """.utf8))
            // No policy yet: private.
            #expect(try await T.send(client, .get, "/site/public/a.webp", sign: false).status == .forbidden)
            let missing = try await T.send(client, .get, "/site", query: [("policy", "")])
            #expect(T.xmlCode(missing) == "NoSuchBucketPolicy")
            let put = try await T.send(client, .put, "/site", query: [("policy", "")], body: Array(Self.publicThumbnails.utf8))
            #expect(put.status == .noContent)
            #expect(String(buffer: try await T.send(client, .get, "/site", query: [("policy", "")]).body) == Self.publicThumbnails)

            let read = try await T.send(client, .get, "/site/public/a.webp", headers: [("Origin", "https://app.example")], sign: false)
            #expect(read.status == .ok)
            #expect(String(buffer: read.body) == "public bytes")
            #expect(read.headers[.accessControlAllowOrigin] == "https://app.example")
            #expect(try await T.send(client, .head, "/site/public/a.webp", sign: false).status == .ok)
            #expect(try await T.send(client, .get, "/site/public/missing.webp", sign: false).status == .notFound)
            for (method, path, query) in [
                (HTTPRequest.Method.get, "/site/private/b.webp", [(String, String)]()),
                (.put, "/site/public/new.webp", []), (.delete, "/site/public/a.webp", []), (.get, "/site", []),
                (.get, "/site/public/a.webp", [("versionId", "null")]), (.get, "/site", [("policy", "")]),
                (.get, "/site/public/a.webp", [("uploadId", "x")]),
            ] {
                let response = try await T.send(client, method, path, query: query, sign: false)
                #expect(response.status == .forbidden, "\(method) \(path) \(query)")
            }
            #expect(String(buffer: try await T.send(client, .get, "/site/public/a.webp").body) == "public bytes")

            // Block Public Access: RestrictPublicBuckets turns the public policy off; BlockPublicPolicy refuses a new one.
            #expect(T.xmlCode(try await T.send(client, .get, "/site", query: [("publicAccessBlock", "")])) == "NoSuchPublicAccessBlockConfiguration")
            let block = """
                <PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><BlockPublicAcls>true</BlockPublicAcls>\
                <IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets>\
                </PublicAccessBlockConfiguration>
                """
            #expect(try await T.send(client, .put, "/site", query: [("publicAccessBlock", "")], body: Array(block.utf8)).status == .ok)
            #expect(String(buffer: try await T.send(client, .get, "/site", query: [("publicAccessBlock", "")]).body).contains("<RestrictPublicBuckets>true</RestrictPublicBuckets>"))
            #expect(try await T.send(client, .get, "/site/public/a.webp", sign: false).status == .forbidden)
            let refused = try await T.send(client, .put, "/site", query: [("policy", "")], body: Array(Self.publicThumbnails.utf8))
            #expect(refused.status == .forbidden)
            #expect(T.xmlCode(refused) == "AccessDenied")
            #expect(try await T.send(client, .delete, "/site", query: [("publicAccessBlock", "")]).status == .noContent)
            #expect(try await T.send(client, .get, "/site/public/a.webp", sign: false).status == .ok)

            let bad = try await T.send(client, .put, "/site", query: [("policy", "")], body: Array("{\"Statement\": 1}".utf8))
            #expect(T.xmlCode(bad) == "MalformedPolicy")
            #expect(try await T.send(client, .delete, "/site", query: [("policy", "")]).status == .noContent)
            #expect(try await T.send(client, .get, "/site/public/a.webp", sign: false).status == .forbidden)
        }
    }
}
