import Crypto
import CryptoExtras
import Foundation
import JWTKit

/// The built-in development issuer: an RS256 key pair made on first start and kept in the data folder.
///
/// It is a real issuer, not a shortcut: the API verifies its tokens through
/// ``JWKSTokenVerifier`` and the JWKS it serves at `/.well-known/jwks.json`, exactly as
/// it verifies Cognito's.
///
/// ```swift
/// let dev = try DevIssuer.loadOrCreate(directory: dataFolder, issuer: "http://127.0.0.1:8080")
/// router.get("/.well-known/jwks.json") { _, _ in dev.jwksDocument() }      // served by the API
/// let verifier = JWKSTokenVerifier(configuration: dev.verifierConfiguration)
/// let token = try await dev.token(for: "alice")                           // `hoist token alice`
/// ```
public struct DevIssuer: Sendable {
    /// The file, inside the data folder, that holds the private key (PEM, mode 0600).
    public static let keyFileName = "dev-issuer-key.pem"

    /// The issuer (`iss`): the API's base URL, without a trailing slash.
    public let issuer: String
    /// The audience (`aud`) of the tokens it makes.
    public let audience: String
    /// The key id (`kid`): the RFC 7638 SHA-256 thumbprint of the public key, base64url.
    public let keyID: String

    private let privateKey: JWTKit.Insecure.RSA.PrivateKey
    private let jwks: Data
    private let discovery: Data

    /// Where the issuer's JWKS is served: the issuer followed by `/.well-known/jwks.json`.
    public var jwksURL: String { issuer + "/.well-known/jwks.json" }

    /// Loads `directory/dev-issuer-key.pem` (mode 0600) or creates it.
    ///
    /// A new key is written with mode 0600 from the first byte and linked into place
    /// atomically, so two processes starting together end up with the same key. An existing
    /// file readable by others is narrowed to 0600. A file that holds no RSA key of at least
    /// 2048 bits is an error and is left alone.
    ///
    /// - Parameters:
    ///   - directory: The data folder; created (mode 0700) if missing.
    ///   - issuer: The API's base URL, e.g. `http://127.0.0.1:8080` (a trailing `/` is dropped).
    ///   - audience: The `aud` of the tokens (default `hoist-dev`).
    /// - Returns: The issuer.
    /// - Throws: ``DevIssuerError`` if the key file cannot be read, written or parsed.
    public static func loadOrCreate(directory: URL, issuer: String, audience: String = "hoist-dev") throws -> DevIssuer {
        var issuer = issuer
        while issuer.hasSuffix("/") { issuer.removeLast() }
        let file = directory.appendingPathComponent(keyFileName)
        let pem = try DevIssuerKeyFile.loadOrCreate(file) {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            return Data(key.pemRepresentation.utf8)
        }
        let privateKey: JWTKit.Insecure.RSA.PrivateKey
        do {
            privateKey = try JWTKit.Insecure.RSA.PrivateKey(pem: pem)
        } catch {
            throw DevIssuerError(.invalidKeyFile, "\(file.path) holds no RSA private key of at least 2048 bits; delete it to make a new one.")
        }
        return try DevIssuer(privateKey: privateKey, issuer: issuer, audience: audience)
    }

    private init(privateKey: JWTKit.Insecure.RSA.PrivateKey, issuer: String, audience: String) throws {
        let primitives: (modulus: Data, publicExponent: Data)
        do {
            primitives = try privateKey.publicKey.getKeyPrimitives()
        } catch {
            throw DevIssuerError(.invalidKeyFile, "The dev issuer's public key cannot be exported: \(error)")
        }
        let n = Base64URL.encode(primitives.modulus.drop { $0 == 0 })
        let e = Base64URL.encode(primitives.publicExponent.drop { $0 == 0 })
        // RFC 7638 §3.2: the required members in lexicographic order, no whitespace.
        let thumbprintInput = #"{"e":"\#(e)","kty":"RSA","n":"\#(n)"}"#
        let keyID = Base64URL.encode(Array(SHA256.hash(data: Data(thumbprintInput.utf8))))

        self.issuer = issuer
        self.audience = audience
        self.keyID = keyID
        self.privateKey = privateKey

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            jwks = try encoder.encode(JWKSDocument(keys: [.init(kid: keyID, n: n, e: e)]))
            discovery = try encoder.encode(OpenIDConfiguration(issuer: issuer, jwksURI: issuer + "/.well-known/jwks.json"))
        } catch {
            throw DevIssuerError(.invalidKeyFile, "The dev issuer's documents cannot be encoded: \(error)")
        }
    }

    /// The JWKS JSON (public key only) to serve at `/.well-known/jwks.json`.
    public func jwksDocument() -> Data { jwks }

    /// The OpenID discovery document to serve at `/.well-known/openid-configuration`
    /// (`issuer`, `jwks_uri`, `id_token_signing_alg_values_supported: ["RS256"]`, …).
    public func openIDConfiguration() -> Data { discovery }

    /// The verifier configuration that checks this issuer's tokens through its JWKS URL
    /// (kind `.oidc`, audiences `[audience]`).
    public var verifierConfiguration: JWTVerifierConfiguration {
        JWTVerifierConfiguration(issuer: issuer, jwksURL: jwksURL, audiences: [audience], kind: .oidc)
    }

    /// A signed RS256 token: `sub` = user, `iss`, `aud`, `iat`, `nbf`, `exp` = now + ttl, `jti`, and `kid` in the header.
    ///
    /// - Parameters:
    ///   - user: The subject; must not be empty.
    ///   - ttl: The lifetime (default one hour); must be positive.
    ///   - now: The issue time (whole seconds are used).
    /// - Returns: The compact JWS.
    /// - Throws: ``DevIssuerError`` for an empty user or a non-positive ttl; jwt-kit's error if signing fails.
    public func token(for user: String, ttl: Duration = .seconds(3600), now: Date = Date()) async throws -> String {
        guard !user.isEmpty else { throw DevIssuerError(.invalidArgument, "The user must not be empty.") }
        guard ttl > .zero else { throw DevIssuerError(.invalidArgument, "The token lifetime must be positive.") }
        let issuedAt = Int64(now.timeIntervalSince1970.rounded(.down))
        let lifetime = max(1, ttl.components.seconds)
        let claims = DevTokenClaims(
            iss: issuer,
            sub: user,
            aud: audience,
            iat: issuedAt,
            nbf: issuedAt,
            exp: issuedAt.addingReportingOverflow(lifetime).overflow ? Int64.max : issuedAt + lifetime,
            jti: UUID().uuidString
        )
        let keys = JWTKeyCollection()
        let kid = JWKIdentifier(string: keyID)
        await keys.add(rsa: privateKey, digestAlgorithm: .sha256, kid: kid)
        var header = JWTHeader()
        header.typ = "JWT"
        return try await keys.sign(claims, kid: kid, header: header)
    }
}

/// The claims of a dev token.
private struct DevTokenClaims: JWTPayload {
    var iss: String
    var sub: String
    var aud: String
    var iat: Int64
    var nbf: Int64
    var exp: Int64
    var jti: String

    /// Claims are checked by the verifier, not at signing time.
    func verify(using _: some JWTAlgorithm) async throws {}
}

private struct JWKSDocument: Encodable {
    struct Key: Encodable {
        var kty = "RSA"
        var use = "sig"
        var alg = "RS256"
        var kid: String
        var n: String
        var e: String
    }

    var keys: [Key]
}

/// OpenID Connect Discovery 1.0 §3, as much of it as an issuer without an authorization endpoint has.
private struct OpenIDConfiguration: Encodable {
    var issuer: String
    var jwksURI: String
    var responseTypesSupported = ["id_token"]
    var subjectTypesSupported = ["public"]
    var idTokenSigningAlgValuesSupported = ["RS256"]
    var claimsSupported = ["aud", "exp", "iat", "iss", "jti", "nbf", "sub"]

    private enum CodingKeys: String, CodingKey {
        case issuer
        case jwksURI = "jwks_uri"
        case responseTypesSupported = "response_types_supported"
        case subjectTypesSupported = "subject_types_supported"
        case idTokenSigningAlgValuesSupported = "id_token_signing_alg_values_supported"
        case claimsSupported = "claims_supported"
    }
}
