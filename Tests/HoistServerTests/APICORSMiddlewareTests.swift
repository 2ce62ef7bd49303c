import HTTPTypes
@testable import HoistServer
import Hummingbird
import HummingbirdTesting
import Testing

/// The API answers CORS for the listed origins only, errors included.
@Suite("API CORS")
struct APICORSMiddlewareTests {
    static let app = "https://app.example.com"

    static func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: APICORSMiddleware(origins: [app, "*"]))
        router.post("upload-url") { _, _ in "{}" }
        router.get("policy") { _, _ -> String in throw HTTPError(.unauthorized, message: "{\"error\":{}}") }
        return router
    }

    @Test("a listed origin: preflight allowed with Authorization and Content-Type; responses and errors carry the headers")
    func listed() async throws {
        try await Application(router: Self.router()).test(.router) { client in
            let preflight = try await client.executeRequest(uri: "/upload-url", method: .options, headers: [
                .origin: Self.app, .accessControlRequestMethod: "POST", .accessControlRequestHeaders: "authorization,content-type",
            ], body: nil)
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == Self.app)
            #expect(preflight.headers[.accessControlAllowMethods] == "GET, POST, DELETE")
            #expect(preflight.headers[.accessControlAllowHeaders] == "Authorization, Content-Type")
            let post = try await client.executeRequest(uri: "/upload-url", method: .post, headers: [.origin: Self.app], body: nil)
            #expect(post.status == .ok)
            #expect(post.headers[.accessControlAllowOrigin] == Self.app)
            #expect(post.headers[.vary] == "Origin")
            let error = try await client.executeRequest(uri: "/policy", method: .get, headers: [.origin: Self.app], body: nil)
            #expect(error.status == .unauthorized)
            #expect(error.headers[.accessControlAllowOrigin] == Self.app)
            #expect(error.headers[.accessControlExposeHeaders] == "Retry-After, WWW-Authenticate")
        }
    }

    @Test("other origins get no CORS headers and a refused preflight; '*' in the list allows no one")
    func others() async throws {
        try await Application(router: Self.router()).test(.router) { client in
            let preflight = try await client.executeRequest(uri: "/upload-url", method: .options, headers: [
                .origin: "https://evil.example", .accessControlRequestMethod: "POST",
            ], body: nil)
            #expect(preflight.status == .forbidden)
            #expect(preflight.headers[.accessControlAllowOrigin] == nil)
            let post = try await client.executeRequest(uri: "/upload-url", method: .post, headers: [.origin: "https://evil.example"], body: nil)
            #expect(post.headers[.accessControlAllowOrigin] == nil)
            let plain = try await client.executeRequest(uri: "/upload-url", method: .post, headers: [:], body: nil)
            #expect(plain.status == .ok && plain.headers[.accessControlAllowOrigin] == nil)
        }
    }
}
