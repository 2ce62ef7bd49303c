import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import S3
import SigV4
import Synchronization
import Testing
import Uploads
@testable import UploadsAPI

/// A token verifier for route tests: fixed tokens name fixed users. The real
/// JWT path (dev issuer → JWKS over HTTP → verifier) is tested end to end in
/// the Auth tests and the interop script.
struct FixedTokens: TokenVerifier {
    let users: [String: String]
    func verify(_ token: String) async throws(AuthError) -> AuthenticatedUser {
        guard let user = users[token] else { throw AuthError(.invalidSignature, "The token's signature is not valid.") }
        return AuthenticatedUser(subject: user, issuer: "test", expiresAt: .distantFuture)
    }
}

@Suite("Upload API")
struct UploadsAPITests {
    static let credentials = SigV4Credentials(accessKeyId: "AKIDUPLOADS", secretAccessKey: "uploads-secret")
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func makeApp(policy: UploadPolicy = UploadPolicy(), credentials: SigV4Credentials = credentials) throws -> some ApplicationProtocol {
        try makeApp(policy: policy, provider: StaticCredentialProvider(credentials))
    }

    static func makeApp(policy: UploadPolicy = UploadPolicy(), provider: any CredentialProvider) throws -> some ApplicationProtocol {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-uploads-\(UUID().uuidString)/uploads.sqlite").path
        let records = try SQLiteUploadRecordStore(path: path)
        let target = StorageTarget(endpoint: try S3Endpoint(url: "http://127.0.0.1:9000"), bucket: "article-images",
                                   region: "us-east-1", credentials: provider)
        let service = UploadService(policy: policy, target: target, records: records, clock: { now })
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        UploadsAPI(service: service, verifier: FixedTokens(users: ["alice-token": "alice", "bob-token": "bob"])).addRoutes(to: router)
        return Application(router: router)
    }

    static func post(_ client: some TestClientProtocol, _ body: String?, token: String? = "alice-token") async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await client.executeRequest(uri: "/upload-url", method: .post, headers: headers,
                                               body: body.map { ByteBuffer(string: $0) })
    }

    static func json(_ response: TestResponse) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]) ?? [:]
    }

    static func errorCode(_ response: TestResponse) -> String? {
        (json(response)["error"] as? [String: Any])?["code"] as? String
    }

    @Test("an upload URL binds type, length, no-overwrite and checksum, and storage accepts exactly that")
    func issue() async throws {
        try await Self.makeApp().test(.router) { client in
            let checksum = Data(repeating: 7, count: 32).base64EncodedString()
            let response = try await Self.post(client, #"{"contentType":"image/png","size":1234,"checksumSHA256":"\#(checksum)","extra":true}"#)
            #expect(response.status == .ok)
            let body = Self.json(response)
            let key = try #require(body["key"] as? String)
            let articleId = try #require(body["articleId"] as? String)
            #expect(UUID(uuidString: articleId) != nil)
            #expect(key.hasPrefix("articles/\(articleId)/raw/") && key.hasSuffix(".png"))
            #expect(body["expiresIn"] as? Int == 900)
            #expect(body["method"] as? String == "PUT")
            let headers = try #require(body["headers"] as? [String: String])
            #expect(headers == ["Content-Type": "image/png", "Content-Length": "1234", "If-None-Match": "*", "x-amz-checksum-sha256": checksum])
            #expect(body["expiresAt"] as? String == AMZDate(Self.now + 900).iso8601String)

            // The URL verifies for exactly those headers, and not with another type.
            let url = try #require(body["uploadUrl"] as? String)
            #expect(url.hasPrefix("http://127.0.0.1:9000/article-images/articles/"))
            let target = String(url.dropFirst("http://127.0.0.1:9000".count))
            let verifier = SigV4Verifier(credentials: StaticCredentialStore([Self.credentials]))
            let sent = [("Host", "127.0.0.1:9000")] + headers.map { ($0.key, $0.value) }
            #expect(try verifier.verify(ReceivedRequest(method: "PUT", target: target, headers: sent), now: Self.now) != nil)
            let wrong = sent.map { $0.0 == "Content-Type" ? ($0.0, "image/jpeg") : $0 }
            #expect(throws: SigV4Error.self) { try verifier.verify(ReceivedRequest(method: "PUT", target: target, headers: wrong), now: Self.now) }

            // The record is listed for the owner, refused to others.
            let list = try await client.executeRequest(uri: "/articles/\(articleId)/uploads", method: .get,
                                                       headers: [.authorization: "Bearer alice-token"], body: nil)
            let uploads = try #require(Self.json(list)["uploads"] as? [[String: Any]])
            #expect(uploads.count == 1)
            #expect(uploads.first?["key"] as? String == key)
            #expect(uploads.first?["status"] as? String == "pending")
            #expect(uploads.first?["size"] as? Int == 1234)
            let other = try await client.executeRequest(uri: "/articles/\(articleId)/uploads", method: .get,
                                                        headers: [.authorization: "Bearer bob-token"], body: nil)
            #expect(other.status == .forbidden)

            // A second URL in the same article; bob cannot use alice's article.
            #expect(try await Self.post(client, #"{"contentType":"image/jpeg","size":10,"articleId":"\#(articleId.uppercased())"}"#).status == .ok)
            let stolen = try await Self.post(client, #"{"contentType":"image/jpeg","size":10,"articleId":"\#(articleId)"}"#, token: "bob-token")
            #expect(stolen.status == .forbidden)
            #expect(Self.errorCode(stolen) == "forbidden")
        }
    }

    @Test("bad input gets the contract's status and code", arguments: [
        (#"{"contentType":"image/svg+xml","size":10}"#, 415, "unsupported_media_type"),
        (#"{"contentType":"text/html","size":10}"#, 415, "unsupported_media_type"),
        (#"{"contentType":"image/png"}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":0}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":-5}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":"10"}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":1.5}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":true}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":10485761}"#, 413, "payload_too_large"),
        (#"{"contentType":"image/png","size":10,"articleId":"../x"}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":10,"articleId":"ünïcødé"}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":10,"checksumSHA256":"abc"}"#, 400, "invalid_request"),
        (#"{"contentType":"image/png","size":10"#, 400, "invalid_request"),
        (#"[1,2]"#, 400, "invalid_request"),
        (#"{"contentType":7,"size":10}"#, 400, "invalid_request"),
    ])
    func badInput(_ body: String, _ status: Int, _ code: String) async throws {
        try await Self.makeApp().test(.router) { client in
            let response = try await Self.post(client, body)
            #expect(response.status.code == status, "\(body)")
            #expect(Self.errorCode(response) == code, "\(body)")
            #expect(response.headers[.contentType] == "application/json")
        }
    }

    /// A verifier that refuses every token with one code.
    struct RefusingTokens: TokenVerifier {
        let code: AuthError.Code
        func verify(_ token: String) async throws(AuthError) -> AuthenticatedUser { throw AuthError(code, "refused") }
    }

    @Test("the authenticator maps Auth's codes: 503 without a challenge when the issuer's keys are unavailable, 401 otherwise",
          arguments: [AuthError.Code.jwksUnavailable, .expired, .invalidSignature, .unknownKey])
    func authErrorMapping(_ code: AuthError.Code) async throws {
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: BearerAuthenticator(verifier: RefusingTokens(code: code)))
        router.get("me") { _, context in try context.requireUser().subject }
        try await Application(router: router).test(.router) { client in
            let response = try await client.executeRequest(uri: "/me", method: .get, headers: [.authorization: "Bearer t"], body: nil)
            #expect(response.status == (code == .jwksUnavailable ? .serviceUnavailable : .unauthorized))
            #expect(Self.errorCode(response) == code.rawValue)
            #expect((response.headers[.wwwAuthenticate] == nil) == (code == .jwksUnavailable))
            #expect(response.headers[.contentType] == "application/json")
        }
    }

    @Test("authentication: missing and bad tokens are 401 with WWW-Authenticate")
    func authentication() async throws {
        try await Self.makeApp().test(.router) { client in
            let missing = try await Self.post(client, "{}", token: nil)
            #expect(missing.status == .unauthorized)
            #expect(Self.errorCode(missing) == "missing_token")
            #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let bad = try await Self.post(client, "{}", token: "forged")
            #expect(bad.status == .unauthorized)
            #expect(bad.headers[.wwwAuthenticate]?.contains("invalid_token") == true)
            let basic = try await client.executeRequest(uri: "/upload-url", method: .post, headers: [.authorization: "Basic YTpi"], body: nil)
            #expect(basic.status == .unauthorized)
        }
    }

    @Test("a body is required (size binds Content-Length); defaults for type and article; oversized bodies refused")
    func bodies() async throws {
        try await Self.makeApp().test(.router) { client in
            let empty = try await Self.post(client, nil)
            #expect(empty.status == .badRequest)
            #expect(Self.errorCode(empty) == "invalid_request")
            let minimal = try await Self.post(client, #"{"size":10}"#)
            #expect(minimal.status == .ok)
            #expect((Self.json(minimal)["key"] as? String)?.hasSuffix(".jpg") == true)
            #expect((Self.json(minimal)["headers"] as? [String: String])?["Content-Type"] == "image/jpeg")
            let big = String(repeating: " ", count: 17 * 1024) + "{}"
            let tooBig = try await Self.post(client, big)
            #expect(tooBig.status == .contentTooLarge)
            #expect(Self.errorCode(tooBig) == "payload_too_large")
        }
    }

    @Test("rate limit: the burst, then 429 with Retry-After")
    func rateLimit() async throws {
        try await Self.makeApp(policy: UploadPolicy(ratePerMinute: 60, burst: 3)).test(.router) { client in
            for _ in 0..<3 { #expect(try await Self.post(client, #"{"size":5}"#).status == .ok) }
            // Refused requests do not count.
            #expect(try await Self.post(client, #"{"size":0}"#).status == .badRequest)
            let limited = try await Self.post(client, #"{"size":5}"#)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "1")
            #expect(Self.errorCode(limited) == "rate_limited")
            // Another user has a bucket of their own.
            #expect(try await Self.post(client, #"{"size":5}"#, token: "bob-token").status == .ok)
        }
    }

    @Test("download URLs: the owner's objects only")
    func download() async throws {
        try await Self.makeApp().test(.router) { client in
            let issued = Self.json(try await Self.post(client, #"{"contentType":"image/png","size":3}"#))
            let key = try #require(issued["key"] as? String)
            let encoded = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key
            let mine = try await client.executeRequest(uri: "/download-url?key=\(encoded)", method: .get,
                                                       headers: [.authorization: "Bearer alice-token"], body: nil)
            #expect(mine.status == .ok)
            #expect((Self.json(mine)["downloadUrl"] as? String)?.contains("X-Amz-Expires=300") == true)
            let theirs = try await client.executeRequest(uri: "/download-url?key=\(encoded)", method: .get,
                                                         headers: [.authorization: "Bearer bob-token"], body: nil)
            #expect(theirs.status == .forbidden)
            let articleId = try #require(issued["articleId"] as? String)
            for sneaky in ["articles/\(articleId)/../other/x.png", "articles/\(articleId)//x", "../etc/passwd", "articles/not-a-uuid/x"] {
                let encodedSneaky = sneaky.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? sneaky
                let response = try await client.executeRequest(uri: "/download-url?key=\(encodedSneaky)", method: .get,
                                                               headers: [.authorization: "Bearer alice-token"], body: nil)
                #expect(response.status == .forbidden, "\(sneaky)")
            }
            let missing = try await client.executeRequest(uri: "/download-url", method: .get, headers: [.authorization: "Bearer alice-token"], body: nil)
            #expect(missing.status == .badRequest)
        }
    }

    @Test("unknown routes answer with the JSON error envelope")
    func unknownRoute() async throws {
        try await Self.makeApp().test(.router) { client in
            let response = try await client.executeRequest(uri: "/nope", method: .get, headers: [:], body: nil)
            #expect(response.status == .notFound)
            #expect(Self.errorCode(response) == "not_found")
        }
    }

    @Test("credentials that change: each URL is signed with the current ones; none at all is a 503")
    func rotatingCredentials() async throws {
        let provider = ChangingCredentials(SigV4Credentials(accessKeyId: "ASIAFIRST", secretAccessKey: "first", sessionToken: "token-1",
                                                            expiration: Self.now + 3600))
        try await Self.makeApp(provider: provider).test(.router) { client in
            let first = Self.json(try await Self.post(client, #"{"contentType":"image/png","size":5}"#))["uploadUrl"] as? String ?? ""
            #expect(first.contains("X-Amz-Credential=ASIAFIRST%2F") && first.contains("X-Amz-Security-Token=token-1"))
            provider.set(SigV4Credentials(accessKeyId: "ASIASECOND", secretAccessKey: "second", sessionToken: "token-2",
                                          expiration: Self.now + 3600))
            let second = Self.json(try await Self.post(client, #"{"contentType":"image/png","size":5}"#))["uploadUrl"] as? String ?? ""
            #expect(second.contains("X-Amz-Credential=ASIASECOND%2F") && second.contains("X-Amz-Security-Token=token-2"))
            // The URL verifies with the second secret only: the signing key was derived again.
            let target = String(second.dropFirst("http://127.0.0.1:9000".count))
            let store = StaticCredentialStore([SigV4Credentials(accessKeyId: "ASIASECOND", secretAccessKey: "second", sessionToken: "token-2")])
            let sent = [("Host", "127.0.0.1:9000"), ("Content-Type", "image/png"), ("Content-Length", "5"), ("If-None-Match", "*")]
            let verified = try SigV4Verifier(credentials: store).verify(ReceivedRequest(method: "PUT", target: target, headers: sent),
                                                                        now: Self.now + 1)
            #expect(verified?.accessKeyId == "ASIASECOND")
            provider.fail()
            let refused = try await Self.post(client, #"{"contentType":"image/png","size":5}"#)
            #expect(refused.status == .serviceUnavailable)
            #expect(Self.errorCode(refused) == "credentials_unavailable")
        }
    }

    @Test("URLs never outlive the signing credentials")
    func clamp() async throws {
        let temporary = SigV4Credentials(accessKeyId: "ASIATEMP", secretAccessKey: "s", sessionToken: "t", expiration: Self.now + 120)
        try await Self.makeApp(credentials: temporary).test(.router) { client in
            let body = Self.json(try await Self.post(client, #"{"size":5}"#))
            #expect(body["expiresIn"] as? Int == 120)
            #expect((body["uploadUrl"] as? String)?.contains("X-Amz-Security-Token=t") == true)
        }
    }
}

/// Credentials a test changes by hand, or takes away.
final class ChangingCredentials: CredentialProvider {
    private let current: Mutex<SigV4Credentials?>

    init(_ credentials: SigV4Credentials) { current = Mutex(credentials) }

    func set(_ credentials: SigV4Credentials) { current.withLock { $0 = credentials } }

    func fail() { current.withLock { $0 = nil } }

    func credentials() throws -> SigV4Credentials {
        guard let credentials = current.withLock({ $0 }) else { throw ProviderDown() }
        return credentials
    }

    struct ProviderDown: Error {}
}
