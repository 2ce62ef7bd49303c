import Auth
import HTTPTypes
import Hummingbird

/// Verifies `Authorization: Bearer <token>` and puts the caller in the request context;
/// refuses the request with the API's JSON error (401, or 503 when the issuer's keys
/// cannot be fetched) and a `WWW-Authenticate` challenge (RFC 6750 §3).
///
/// ```swift
/// router.group().add(middleware: BearerAuthenticator(verifier: verifier))
///     .get("download-url") { request, context in try context.requireUser() … }
/// ```
public struct BearerAuthenticator<Context: AuthenticatedRequestContext>: RouterMiddleware {
    let verifier: any TokenVerifier

    /// Creates the middleware.
    /// - Parameter verifier: checks each token (JWKS, the dev issuer, or a test double).
    public init(verifier: any TokenVerifier) {
        self.verifier = verifier
    }

    public func handle(_ request: Request, context: Context,
                       next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.user = try await authenticate(request.headers.value(of: .authorization))
        return try await next(request, context)
    }

    static var missingToken: APIError {
        var error = APIError(.unauthorized, "missing_token", "Sign in: send Authorization: Bearer <token>.")
        error.headers[.wwwAuthenticate] = "Bearer realm=\"hoist\""
        return error
    }

    /// The caller a header value proves.
    func authenticate(_ header: String?) async throws(APIError) -> AuthenticatedUser {
        guard let header else { throw Self.missingToken }
        // Split and trim on bytes: Foundation's trimmingCharacters is slow for a 1 KB token on Linux.
        let parts = header.split(separator: " ", maxSplits: 1)
        let token = parts.count == 2 ? trimmingSpacesAndTabs(parts[1]) : ""
        guard parts.count == 2, parts[0].lowercased() == "bearer", !token.isEmpty else {
            var error = APIError(.unauthorized, "malformed_token", "The Authorization header must be 'Bearer <token>'.")
            error.headers[.wwwAuthenticate] = "Bearer realm=\"hoist\", error=\"invalid_request\""
            throw error
        }
        do {
            return try await verifier.verify(token)
        } catch {
            if error.code == .jwksUnavailable {
                throw APIError(.serviceUnavailable, error.code.rawValue, error.message)
            }
            var apiError = APIError(.unauthorized, error.code.rawValue, error.message)
            let description = error.message.replacingOccurrences(of: "\"", with: "'")
            apiError.headers[.wwwAuthenticate] = "Bearer realm=\"hoist\", error=\"invalid_token\", error_description=\"\(description)\""
            throw apiError
        }
    }
}

/// `text` without leading and trailing spaces and tabs, found on UTF-8 bytes.
func trimmingSpacesAndTabs(_ text: Substring) -> String {
    let utf8 = text.utf8
    var start = utf8.startIndex, end = utf8.endIndex
    while start < end, utf8[start] == UInt8(ascii: " ") || utf8[start] == UInt8(ascii: "\t") { start = utf8.index(after: start) }
    while end > start {
        let before = utf8.index(before: end)
        guard utf8[before] == UInt8(ascii: " ") || utf8[before] == UInt8(ascii: "\t") else { break }
        end = before
    }
    return String(Substring(utf8[start..<end]))
}
