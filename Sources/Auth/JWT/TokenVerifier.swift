/// Turns a bearer token into the user it proves, or refuses it.
///
/// ``JWKSTokenVerifier`` is the implementation for Cognito, any OIDC issuer
/// and the built-in ``DevIssuer``; tests of code that needs a user can supply a fake.
public protocol TokenVerifier: Sendable {
    /// Verifies a bearer token (the text after "Bearer ").
    ///
    /// - Parameter token: The compact JWS, e.g. `eyJhbGciOi…`.
    /// - Returns: The user the token proves.
    /// - Throws: ``AuthError`` saying why the token was refused.
    func verify(_ token: String) async throws(AuthError) -> AuthenticatedUser
}

extension TokenVerifier {
    /// Verifies the token in an `Authorization` header value (`Bearer <token>`, RFC 6750 §2.1).
    ///
    /// The scheme is matched case-insensitively; surrounding spaces are ignored.
    ///
    /// - Parameter authorization: The header's value, or `nil` when the request has none.
    /// - Returns: The user the token proves.
    /// - Throws: ``AuthError/Code/missingToken`` when there is no header, another scheme, or
    ///   an empty token; otherwise whatever ``verify(_:)`` throws.
    public func verify(authorization: String?) async throws(AuthError) -> AuthenticatedUser {
        try await verify(Self.bearerToken(in: authorization))
    }

    private static func bearerToken(in authorization: String?) throws(AuthError) -> String {
        guard let authorization else {
            throw AuthError(.missingToken, "The request has no Authorization header.")
        }
        let value = authorization.utf8.drop { $0 == UInt8(ascii: " ") }
        let scheme = value.prefix { $0 != UInt8(ascii: " ") }
        guard scheme.count == 6, String(Substring(scheme)).lowercased() == "bearer" else {
            throw AuthError(.missingToken, "The Authorization header does not use the Bearer scheme.")
        }
        let token = String(Substring(value.dropFirst(6))).trimmingSpaces()
        guard !token.isEmpty else {
            throw AuthError(.missingToken, "The bearer token is empty.")
        }
        return token
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        let utf8 = self.utf8
        let start = utf8.firstIndex { $0 != UInt8(ascii: " ") } ?? utf8.endIndex
        let end = utf8[start...].lastIndex { $0 != UInt8(ascii: " ") }.map { utf8.index(after: $0) } ?? start
        return String(Substring(utf8[start..<end]))
    }
}
