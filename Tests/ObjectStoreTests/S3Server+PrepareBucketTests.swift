import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ObjectStore
import ObjectStoreEngine
import SigV4
import Testing

/// The bucket `hoist serve` prepares: its CORS rule lets the web page's origin PUT with the upload's headers, and no one else.
@Suite("S3Server.prepareBucket")
struct S3ServerPrepareBucketTests {
    static let page = "http://127.0.0.1:8080"

    static func makeApp(origins: [String]) async throws -> some ApplicationProtocol {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-prepare-test-\(UUID().uuidString)")
        let engine = try StorageEngine(directory: directory)
        try await S3Server.prepareBucket("article-images", engine: engine, corsOrigins: origins)
        try await S3Server.prepareBucket("article-images", engine: engine, corsOrigins: origins) // a second start
        let credentials = SigV4Credentials(accessKeyId: "HOISTTESTKEY0000", secretAccessKey: "test-secret-for-the-store-0123456789abcd")
        return Application(responder: S3Responder(engine: engine, credentials: [credentials]))
    }

    static func preflight(_ client: some TestClientProtocol, origin: String, method: String = "PUT",
                          headers: String = "content-type,if-none-match,x-amz-checksum-sha256") async throws -> TestResponse {
        try await client.executeRequest(uri: "/article-images/articles/a/raw/b.png", method: .options, headers: [
            .origin: origin, .accessControlRequestMethod: method, .accessControlRequestHeaders: headers,
        ], body: nil)
    }

    @Test("the page's origin may PUT, GET and HEAD with the upload's headers; ETag and x-amz-version-id are exposed")
    func pageOrigin() async throws {
        try await Self.makeApp(origins: [Self.page, "http://localhost:8080"]).test(.router) { client in
            let put = try await Self.preflight(client, origin: Self.page)
            #expect(put.status == .ok)
            #expect(put.headers[.accessControlAllowOrigin] == Self.page)
            #expect(put.headers[.accessControlAllowMethods] == "PUT, GET, HEAD")
            #expect(put.headers[.accessControlAllowHeaders] == "content-type, if-none-match, x-amz-checksum-sha256")
            #expect(put.headers[.accessControlExposeHeaders] == "ETag, x-amz-version-id")
            #expect(try await Self.preflight(client, origin: "http://localhost:8080", method: "GET", headers: "").status == .ok)
            #expect(try await Self.preflight(client, origin: Self.page, method: "HEAD", headers: "").status == .ok)
        }
    }

    @Test("the bucket encrypts at rest by default (SSE-S3), also after a second start")
    func encryptedByDefault() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-prepare-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try StorageEngine(directory: directory)
        try await S3Server.prepareBucket("article-images", engine: engine, corsOrigins: [Self.page])
        try await S3Server.prepareBucket("article-images", engine: engine, corsOrigins: [Self.page])
        #expect(try await engine.defaultEncryption("article-images"))
        let sink = try await engine.beginUpload(bucket: "article-images")
        try await sink.write([1, 2, 3])
        let info = try await engine.commit(sink, bucket: "article-images", key: "articles/a/raw/b.png", metadata: ObjectMetadata())
        #expect(info.metadata.serverSideEncryption == "AES256")
    }

    @Test("other origins, other methods and other headers are refused")
    func refused() async throws {
        try await Self.makeApp(origins: [Self.page]).test(.router) { client in
            let refusals = [
                try await Self.preflight(client, origin: "http://evil.test"),
                try await Self.preflight(client, origin: "http://127.0.0.1:8081"),
                try await Self.preflight(client, origin: Self.page, method: "DELETE", headers: ""),
                try await Self.preflight(client, origin: Self.page, headers: "content-type,x-amz-meta-owner"),
                try await Self.preflight(client, origin: Self.page, headers: "content-type,x-amz-acl"),
            ]
            #expect(refusals.map(\.status) == Array(repeating: .forbidden, count: 5))
        }
    }
}
