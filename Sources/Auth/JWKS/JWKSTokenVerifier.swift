import AsyncHTTPClient
import Foundation
import Logging

/// Verifies JWTs against a JWKS fetched over HTTP, cached, refreshed when an unknown `kid` arrives.
///
/// Works for Amazon Cognito, any OpenID Connect issuer, and the built-in ``DevIssuer``.
/// RS256 and ES256 only, and each key verifies exactly one algorithm, decided by the key
/// (`kty`, `crv`, `alg`), so `alg: none`, HMAC tokens "signed" with a public key, and a
/// header `alg` that differs from the key's are all refused.
///
/// Keys are cached, and so are verified tokens (``VerifiedTokenCache``: by the token's
/// SHA-256, until its `exp`, while the key that verified it is still published unchanged).
/// Verification reads the cached keys without waiting on any actor; only a token whose
/// `kid` is not cached waits, for a single shared fetch (at most one per
/// ``JWTVerifierConfiguration/minimumRefreshInterval``).
///
/// ```swift
/// let verifier = JWKSTokenVerifier(configuration: .cognito(region: "us-east-1", userPoolId: pool, clientIds: [client]))
/// let user = try await verifier.verify(token)   // AuthenticatedUser(subject: …)
/// ```
public final class JWKSTokenVerifier: TokenVerifier {
    private let claims: ClaimsValidator
    private let cache: JWKSCache
    private let clock: @Sendable () -> Date
    private let verified: VerifiedTokenCache?

    /// Creates a verifier; no key is fetched until the first token arrives (or ``refreshKeys()``).
    ///
    /// - Parameters:
    ///   - configuration: The issuer, key-set URL, audiences and timing.
    ///   - httpClient: The client the key set is fetched with (default: the shared one).
    ///   - clock: The current time; inject a fixed one in tests.
    ///   - verifiedTokenCapacity: How many verified tokens to remember (0: none, every
    ///     request checks its signature).
    ///   - logger: Where fetches and skipped keys are logged (never tokens).
    public init(
        configuration: JWTVerifierConfiguration,
        httpClient: HTTPClient = .shared,
        clock: @escaping @Sendable () -> Date = { Date() },
        verifiedTokenCapacity: Int = 4096,
        logger: Logger = Logger(label: "hoist.auth")
    ) {
        self.claims = ClaimsValidator(configuration: configuration)
        self.clock = clock
        self.verified = verifiedTokenCapacity > 0 ? VerifiedTokenCache(capacity: verifiedTokenCapacity) : nil
        var logger = logger
        logger[metadataKey: "auth.issuer"] = "\(configuration.issuer)"
        self.cache = JWKSCache(
            fetcher: JWKSFetcher(url: configuration.jwksURL, timeout: configuration.fetchTimeout, httpClient: httpClient),
            minimumRefreshInterval: configuration.minimumRefreshInterval,
            maximumKeyAge: configuration.maximumKeyAge,
            logger: logger
        )
    }

    /// Verifies a bearer token (the text after "Bearer ").
    ///
    /// Steps: split and decode the token; refuse any `alg` but RS256/ES256; find the key
    /// by `kid` (refreshing the key set once if it is unknown); refuse a header `alg` other
    /// than the key's; verify the signature; check `iss`, `exp`/`nbf`/`iat`, the audience
    /// (and Cognito's `token_use`), and `sub`.
    ///
    /// - Parameter token: The compact JWS.
    /// - Returns: The user the token proves.
    /// - Throws: ``AuthError`` saying why the token was refused.
    public func verify(_ token: String) async throws(AuthError) -> AuthenticatedUser {
        let now = clock()
        // A token verified before, unexpired, whose key is still published unchanged: no signature check again.
        let digest = verified.map { _ in VerifiedTokenCache.digest(token) }
        if let verified, let digest {
            let snapshot = cache.snapshot()
            if let user = verified.user(for: digest, now: now, keys: snapshot.keys) {
                cache.refreshInBackgroundIfStale(snapshot, now: now)
                return user
            }
        }
        let jws = try CompactJWS(token)
        // RFC 8725 §3.1: only the algorithms we verify with; `none` and HMAC never.
        guard let algorithm = PinnedAlgorithm(rawValue: jws.header.alg) else {
            throw AuthError(.algorithmNotAllowed, "The token's algorithm is not accepted.")
        }
        let key = try await key(for: jws.header.kid, now: now)
        // The key decides the algorithm; the header may only agree.
        guard key.algorithm == algorithm else {
            throw AuthError(.algorithmNotAllowed, "The token's algorithm does not match its key.")
        }
        guard key.verifies(jws.signature, of: jws.signingInput) else {
            throw AuthError(.invalidSignature, "The token's signature is not valid.")
        }
        let user = try claims.validate(jws.claims, now: now)
        if let verified, let digest { verified.insert(user, key: key, keyID: jws.header.kid, for: digest) }
        return user
    }

    /// How many verified tokens are remembered now (for tests and metrics).
    var cachedTokenCount: Int { verified?.count ?? 0 }

    /// Fetches the key set now, ignoring the refresh rate limit (a fetch already running is joined).
    ///
    /// Optional: call it at start-up so the first request does not wait, and so a wrong
    /// JWKS URL shows up in the logs at once.
    ///
    /// - Throws: ``AuthError/Code/jwksUnavailable`` if the fetch fails.
    public func refreshKeys() async throws(AuthError) {
        let snapshot = await cache.refresh(now: clock(), force: true)
        if snapshot.lastFetchFailed {
            throw AuthError(.jwksUnavailable, "The issuer's signing keys could not be fetched.")
        }
    }

    private func key(for id: String?, now: Date) async throws(AuthError) -> VerificationKey {
        let snapshot = cache.snapshot()
        if let key = snapshot.keys.key(for: id) {
            cache.refreshInBackgroundIfStale(snapshot, now: now)
            return key
        }
        // Without a kid, several keys are ambiguous, and fetching again will not change that.
        if id == nil, snapshot.fetchedAt != nil, snapshot.keys.count > 1 {
            throw AuthError(.unknownKey, "The token names no key and the issuer has several.")
        }
        let refreshed = await cache.refresh(now: now)
        if let key = refreshed.keys.key(for: id) {
            return key
        }
        if refreshed.lastFetchFailed {
            throw AuthError(.jwksUnavailable, "The issuer's signing keys could not be fetched.")
        }
        throw AuthError(.unknownKey, "The token was signed with a key the issuer does not publish.")
    }
}
