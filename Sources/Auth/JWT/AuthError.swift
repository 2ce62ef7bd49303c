/// Why a bearer token was refused.
///
/// The code is stable and machine-readable; the message is safe to show the
/// client and never contains the token. Every code is the caller's fault except
/// ``Code/jwksUnavailable``, which is the server's; an HTTP layer maps them (the
/// upload API's `BearerAuthenticator`: 401 with a challenge, or 503).
///
/// ```swift
/// do { user = try await verifier.verify(token) }
/// catch where error.code == .expired { … }
/// ```
public struct AuthError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A machine-readable reason, e.g. `token_expired`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case missingToken = "missing_token"
            case malformedToken = "malformed_token"
            case invalidSignature = "invalid_signature"
            case unknownKey = "unknown_key"
            case algorithmNotAllowed = "algorithm_not_allowed"
            case expired = "token_expired"
            case notYetValid = "token_not_yet_valid"
            case wrongIssuer = "wrong_issuer"
            case wrongAudience = "wrong_audience"
            case wrongTokenUse = "wrong_token_use"
            case jwksUnavailable = "jwks_unavailable"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// No token was sent, or it was empty.
        public static let missingToken = Code(.missingToken)
        /// The token is not a compact JWS: not three parts, bad base64url, bad JSON, a claim of the wrong type, a missing required claim.
        public static let malformedToken = Code(.malformedToken)
        /// The signature does not verify with the key the token names.
        public static let invalidSignature = Code(.invalidSignature)
        /// The token's `kid` is not in the issuer's key set, even after a refresh (or it has no `kid` and the set has several keys).
        public static let unknownKey = Code(.unknownKey)
        /// The header's `alg` is not the one algorithm the key verifies (`none`, `HS256`, an RSA algorithm for an EC key, …).
        public static let algorithmNotAllowed = Code(.algorithmNotAllowed)
        /// `exp` is in the past, beyond the leeway.
        public static let expired = Code(.expired)
        /// `nbf` or `iat` is in the future, beyond the leeway.
        public static let notYetValid = Code(.notYetValid)
        /// `iss` is not the configured issuer.
        public static let wrongIssuer = Code(.wrongIssuer)
        /// `aud` (or Cognito's `client_id`) names none of the configured audiences.
        public static let wrongAudience = Code(.wrongAudience)
        /// Cognito's `token_use` is missing or not one of the accepted uses.
        public static let wrongTokenUse = Code(.wrongTokenUse)
        /// The issuer's key set could not be fetched, so the token could not be checked (a server error, not the caller's).
        public static let jwksUnavailable = Code(.jwksUnavailable)

        /// The code as it appears in API error bodies, e.g. `token_expired`.
        public var rawValue: String { value.rawValue }
        /// The code as it appears in API error bodies.
        public var description: String { value.rawValue }
    }

    /// The machine-readable reason.
    public let code: Code
    /// A human-readable explanation, safe to show to the client (never contains the token).
    public let message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The reason.
    ///   - message: An explanation safe to show the client; must not contain the token.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
