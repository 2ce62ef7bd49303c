import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import S3
import SigV4
import Testing
import Uploads
import UploadsAPI
@testable import UploadsPostgres

/// Fixed tokens name fixed users (the JWT path is tested in the Auth and API tests).
struct FixedTokens: TokenVerifier {
    let users: [String: String]
    func verify(_ token: String) async throws(AuthError) -> AuthenticatedUser {
        guard let user = users[token] else { throw AuthError(.invalidSignature, "The token's signature is not valid.") }
        return AuthenticatedUser(subject: user, issuer: "test", expiresAt: .distantFuture)
    }
}

@Suite("Upload API on PostgreSQL: outage and recovery",
       .disabled(if: PostgresServer.skipped, "PostgreSQL is not installed (apt-get install postgresql; HOIST_REQUIRE_POSTGRES=1 makes this a failure)"))
struct PostgresOutageAPITests {
    static func app(_ database: PostgresUploadsDatabase) throws -> some ApplicationProtocol {
        // A burst no test reaches: the clock is fixed, so the limiter never refills.
        var policy = UploadPolicy()
        policy.burst = 10_000
        let target = StorageTarget(endpoint: try S3Endpoint(url: "http://127.0.0.1:9000"), bucket: "article-images", region: "us-east-1",
                                   credentials: SigV4Credentials(accessKeyId: "AKIDUPLOADS", secretAccessKey: "uploads-secret"))
        let service = UploadService(policy: policy, target: target, records: PostgresUploadRecordStore(database: database),
                                    limiter: PostgresRateLimiter(database: database, ratePerMinute: policy.ratePerMinute, burst: policy.burst),
                                    clock: { Date(timeIntervalSince1970: 1_800_000_000) })
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        UploadsAPI(service: service, verifier: FixedTokens(users: ["alice-token": "alice"])).addRoutes(to: router)
        return Application(router: router)
    }

    static func post(_ client: some TestClientProtocol, article: String) async throws -> TestResponse {
        try await client.executeRequest(uri: "/upload-url", method: .post,
                                        headers: [.contentType: "application/json", .authorization: "Bearer alice-token"],
                                        body: ByteBuffer(string: #"{"contentType":"image/png","size":10,"articleId":"\#(article)"}"#))
    }

    static func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]) ?? [:]
    }

    @Test("PostgreSQL stopped: 503 database_unavailable with Retry-After, no hang; restarted: the API serves again by itself")
    func outage() async throws {
        try await PostgresServer.run { server async throws in
            try await server.withDatabase(queryTimeout: .seconds(2)) { database async throws in
                try await Self.app(database).test(.router) { client async throws in
                    let article = UUID().uuidString.lowercased()
                    #expect(try await Self.post(client, article: article).status == .ok)

                    server.stopServer()
                    for _ in 0..<3 {
                        let response = try await Self.post(client, article: article)
                        #expect(response.status == .serviceUnavailable)
                        #expect((Self.json(response)["error"] as? [String: Any])?["code"] as? String == "database_unavailable")
                        #expect(Int(response.headers[.retryAfter] ?? "") ?? 0 >= 1)
                    }
                    let listing = try await client.executeRequest(uri: "/articles/\(article)/uploads", method: .get,
                                                                  headers: [.authorization: "Bearer alice-token"], body: nil)
                    // The owner is cached, so the listing reaches the database and finds it gone.
                    #expect(listing.status == .serviceUnavailable)

                    try server.startServer()
                    // The pool reconnects on its own (with backoff): no restart of the API.
                    var recovered: TestResponse?
                    for _ in 0..<240 {
                        let response = try await Self.post(client, article: article)
                        if response.status == .ok { recovered = response; break }
                        #expect(response.status == .serviceUnavailable)
                        try await Task.sleep(for: .milliseconds(250))
                    }
                    #expect(recovered != nil, "the API did not recover after PostgreSQL came back")
                    let after = try await client.executeRequest(uri: "/articles/\(article)/uploads", method: .get,
                                                                headers: [.authorization: "Bearer alice-token"], body: nil)
                    #expect(after.status == .ok)
                    #expect((Self.json(after)["uploads"] as? [[String: Any]])?.count == 2)
                }
            }
        }
    }
}
