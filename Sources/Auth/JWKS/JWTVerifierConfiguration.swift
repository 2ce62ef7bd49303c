/// What ``JWKSTokenVerifier`` accepts: the issuer, where its keys are, the audiences, and timing.
///
/// ```swift
/// // Cognito: access tokens (client_id) and id tokens (aud) of one app client
/// let config = JWTVerifierConfiguration.cognito(region: "eu-west-1", userPoolId: "eu-west-1_AbC", clientIds: ["1example23456789"])
/// // Any OIDC issuer
/// let oidc = JWTVerifierConfiguration(
///     issuer: "https://accounts.example.com",
///     jwksURL: "https://accounts.example.com/.well-known/jwks.json",
///     audiences: ["hoist"]
/// )
/// ```
public struct JWTVerifierConfiguration: Sendable {
    /// How audience and token type are checked.
    public enum Kind: Sendable, Hashable {
        /// Generic OpenID Connect: `aud` (a string or an array) must contain one of ``JWTVerifierConfiguration/audiences``.
        case oidc
        /// Amazon Cognito user pools: `token_use` must be one of `tokenUses` (`"access"`, `"id"`);
        /// access tokens carry the app client in `client_id`, id tokens in `aud`.
        case cognito(tokenUses: Set<String>)
    }

    /// The issuer; a token's `iss` must equal it exactly.
    public var issuer: String
    /// Where the issuer publishes its JSON Web Key Set,
    /// e.g. `https://cognito-idp.<region>.amazonaws.com/<poolId>/.well-known/jwks.json`.
    public var jwksURL: String
    /// The accepted audiences (OIDC `aud`) or app client ids (Cognito `client_id` / `aud`).
    /// An empty set accepts no token.
    public var audiences: Set<String>
    /// How audience and token type are checked.
    public var kind: Kind
    /// Clock skew tolerated for `exp`, `nbf` and `iat`.
    public var leeway: Duration
    /// The key set is fetched again on an unknown `kid` at most this often.
    public var minimumRefreshInterval: Duration
    /// How long one fetch of the key set may take, connection included.
    public var fetchTimeout: Duration
    /// Keys older than this are re-fetched in the background (the old ones keep serving meanwhile),
    /// so a key the issuer withdrew stops being trusted without waiting for an unknown `kid`.
    public var maximumKeyAge: Duration

    /// Creates a configuration.
    ///
    /// - Parameters:
    ///   - issuer: The exact `iss` value to accept.
    ///   - jwksURL: The issuer's JWKS URL.
    ///   - audiences: The accepted audiences or app client ids.
    ///   - kind: `.oidc` (default) or `.cognito(tokenUses:)`.
    ///   - leeway: Clock skew tolerated for `exp`, `nbf`, `iat` (default 60 s).
    ///   - minimumRefreshInterval: At most one key-set fetch per this interval (default 30 s).
    ///   - fetchTimeout: Timeout of one key-set fetch (default 5 s).
    ///   - maximumKeyAge: Age after which keys are refreshed in the background (default 1 hour).
    public init(
        issuer: String,
        jwksURL: String,
        audiences: Set<String>,
        kind: Kind = .oidc,
        leeway: Duration = .seconds(60),
        minimumRefreshInterval: Duration = .seconds(30),
        fetchTimeout: Duration = .seconds(5),
        maximumKeyAge: Duration = .seconds(3600)
    ) {
        self.issuer = issuer
        self.jwksURL = jwksURL
        self.audiences = audiences
        self.kind = kind
        self.leeway = leeway
        self.minimumRefreshInterval = minimumRefreshInterval
        self.fetchTimeout = fetchTimeout
        self.maximumKeyAge = maximumKeyAge
    }

    /// A configuration for an Amazon Cognito user pool.
    ///
    /// The issuer is `https://cognito-idp.<region>.amazonaws.com/<poolId>` and the key set
    /// is at the issuer followed by `/.well-known/jwks.json`.
    ///
    /// - Parameters:
    ///   - region: The pool's AWS region, e.g. `us-east-1`.
    ///   - userPoolId: The pool id, e.g. `us-east-1_AbCdEfGhI`.
    ///   - clientIds: The app client ids whose tokens are accepted.
    ///   - tokenUses: The accepted `token_use` values (default both `access` and `id`).
    /// - Returns: The configuration, with default timing.
    public static func cognito(
        region: String,
        userPoolId: String,
        clientIds: Set<String>,
        tokenUses: Set<String> = ["access", "id"]
    ) -> Self {
        let issuer = "https://cognito-idp.\(region).amazonaws.com/\(userPoolId)"
        return Self(
            issuer: issuer,
            jwksURL: issuer + "/.well-known/jwks.json",
            audiences: clientIds,
            kind: .cognito(tokenUses: tokenUses)
        )
    }
}

extension Duration {
    /// The duration in seconds, as `TimeInterval` arithmetic on `Date` wants it.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) * 1e-18
    }
}
