import Crypto
import CryptoExtras
import Foundation
import JWTKit

/// Keys, key sets and token makers shared by the tests.
enum Fixtures {
    static let issuer = "https://issuer.test/pool"
    static let audience = "hoist-api"

    // Key generation is slow; each key is made once per test run.
    static let rsa1 = makeRSAKey()
    static let rsa2 = makeRSAKey()
    static let attackerRSA = makeRSAKey()
    static let ec1 = ES256PrivateKey()
    static let hmacSecret = Data("a-shared-secret-that-must-never-verify-anything".utf8)

    private static func makeRSAKey() -> JWTKit.Insecure.RSA.PrivateKey {
        // Tests may trap on set-up failures.
        try! JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    /// A public RSA JWK.
    static func jwk(rsa key: JWTKit.Insecure.RSA.PrivateKey, kid: String?, alg: String? = "RS256", use: String? = "sig") -> [String: Any] {
        let primitives = try! key.publicKey.getKeyPrimitives()
        var jwk: [String: Any] = ["kty": "RSA", "n": base64url(primitives.modulus), "e": base64url(primitives.publicExponent)]
        jwk["kid"] = kid
        jwk["alg"] = alg
        jwk["use"] = use
        return jwk
    }

    /// A public P-256 JWK.
    static func jwk(ec key: ES256PrivateKey, kid: String?, alg: String? = "ES256") -> [String: Any] {
        let parameters = key.publicKey.parameters!
        var jwk: [String: Any] = ["kty": "EC", "crv": "P-256", "x": parameters.x, "y": parameters.y]
        jwk["kid"] = kid
        jwk["alg"] = alg
        return jwk
    }

    /// A symmetric JWK: a verifier must never use one.
    static func jwk(hmac secret: Data, kid: String) -> [String: Any] {
        ["kty": "oct", "kid": kid, "alg": "HS256", "k": base64url(secret)]
    }

    /// A JWKS document.
    static func jwks(_ keys: [[String: Any]]) -> Data {
        try! JSONSerialization.data(withJSONObject: ["keys": keys], options: [.sortedKeys])
    }

    /// The standard set: an RS256 key, an ES256 key, an HMAC key, and an RSA encryption key.
    static var standardJWKS: Data {
        jwks([
            jwk(rsa: rsa1, kid: "rsa-1"),
            jwk(ec: ec1, kid: "ec-1"),
            jwk(hmac: hmacSecret, kid: "hmac-1"),
            jwk(rsa: rsa2, kid: "rsa-enc", alg: "RSA-OAEP", use: "enc"),
        ])
    }

    static func base64url(_ bytes: some DataProtocol) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64url(json: String) -> String { base64url(Data(json.utf8)) }

    /// A token assembled by hand from raw header and payload JSON.
    static func rawToken(header: String, payload: String, signature: [UInt8] = []) -> String {
        "\(base64url(json: header)).\(base64url(json: payload)).\(base64url(signature))"
    }
}

/// `aud`: one string or an array.
enum TestAudience: Encodable, Sendable {
    case one(String)
    case many([String])

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .one(let value): try container.encode(value)
        case .many(let values): try container.encode(values)
        }
    }
}

/// Claims for test tokens; `nil` fields are left out.
struct TestClaims: JWTPayload {
    var iss: String? = Fixtures.issuer
    var sub: String? = "alice"
    var aud: TestAudience? = .one(Fixtures.audience)
    var exp: Double?
    var nbf: Double?
    var iat: Double?
    var tokenUse: String?
    var clientID: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, nbf, iat
        case tokenUse = "token_use"
        case clientID = "client_id"
    }

    /// Valid claims for a token issued at `now`, living 10 minutes.
    init(now: Date) {
        let seconds = now.timeIntervalSince1970
        exp = seconds + 600
        nbf = seconds
        iat = seconds
    }

    init(from decoder: any Decoder) throws {
        throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "tests only encode"))
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(iss, forKey: .iss)
        try container.encodeIfPresent(sub, forKey: .sub)
        try container.encodeIfPresent(aud, forKey: .aud)
        try container.encodeIfPresent(exp, forKey: .exp)
        try container.encodeIfPresent(nbf, forKey: .nbf)
        try container.encodeIfPresent(iat, forKey: .iat)
        try container.encodeIfPresent(tokenUse, forKey: .tokenUse)
        try container.encodeIfPresent(clientID, forKey: .clientID)
    }

    func verify(using _: some JWTAlgorithm) async throws {}
}

/// A key tokens are signed with.
enum SigningKey: Sendable {
    case rsa(JWTKit.Insecure.RSA.PrivateKey)
    case ec(ES256PrivateKey)
    /// HMAC-SHA256 with these bytes as the secret.
    case hmac(Data)
}

/// Signs `claims` with jwt-kit, putting `kid` (if any), `alg` (if given, else the key's) and `extraHeader` in the header.
func signToken(
    _ claims: TestClaims, with key: SigningKey, kid: String?, alg: String? = nil, extraHeader: [String: JWTHeaderField] = [:]
) async throws -> String {
    let keys = JWTKeyCollection()
    let identifier = kid.map { JWKIdentifier(string: $0) }
    switch key {
    case .rsa(let key): await keys.add(rsa: key, digestAlgorithm: .sha256, kid: identifier)
    case .ec(let key): await keys.add(ecdsa: key, kid: identifier)
    case .hmac(let secret): await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256, kid: identifier)
    }
    var header = JWTHeader()
    header.typ = "JWT"
    if let alg { header.alg = alg }
    for (name, value) in extraHeader { header.fields[name] = value }
    return try await keys.sign(claims, kid: identifier, header: header)
}
