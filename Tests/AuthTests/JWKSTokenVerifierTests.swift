import Auth
import Foundation
import JWTKit
import Testing

/// One row of the attack table: how to make the token, and what the verifier must say.
struct TokenCase: Sendable, CustomTestStringConvertible {
    enum Configuration: Sendable {
        case oidc
        case cognito(tokenUses: Set<String>)
    }

    let name: String
    /// `nil`: accepted.
    let expected: AuthError.Code?
    var configuration: Configuration = .oidc
    var jwks: @Sendable () -> Data = { Fixtures.standardJWKS }
    let token: @Sendable (_ now: Date) async throws -> String

    var testDescription: String { name }
}

extension TokenCase {
    static func claims(_ now: Date, _ change: (inout TestClaims) -> Void = { _ in }) -> TestClaims {
        var claims = TestClaims(now: now)
        change(&claims)
        return claims
    }

    static let rsaHeader = #"{"alg":"RS256","kid":"rsa-1","typ":"JWT"}"#

    static func goodPayload(_ now: Date) -> String {
        let t = Int(now.timeIntervalSince1970)
        return #"{"iss":"\#(Fixtures.issuer)","sub":"alice","aud":"\#(Fixtures.audience)","exp":\#(t + 600),"iat":\#(t)}"#
    }

    /// Generic OIDC rows.
    static let oidc: [TokenCase] = [
        // Accepted
        TokenCase(name: "good RS256", expected: nil) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "good ES256", expected: nil) { now in
            try await signToken(claims(now), with: .ec(Fixtures.ec1), kid: "ec-1")
        },
        TokenCase(name: "aud array containing ours", expected: nil) { now in
            try await signToken(claims(now) { $0.aud = .many(["other", Fixtures.audience]) }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "expired 30 s ago, inside the leeway", expected: nil) { now in
            try await signToken(claims(now) { $0.exp = now.timeIntervalSince1970 - 30 }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "nbf 30 s ahead, inside the leeway", expected: nil) { now in
            try await signToken(claims(now) { $0.nbf = now.timeIntervalSince1970 + 30 }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "no nbf, no iat", expected: nil) { now in
            try await signToken(claims(now) { $0.nbf = nil; $0.iat = nil }, with: .ec(Fixtures.ec1), kid: "ec-1")
        },

        // Missing and malformed
        TokenCase(name: "empty token", expected: .missingToken) { _ in "" },
        TokenCase(name: "one part", expected: .malformedToken) { _ in "eyJhbGciOiJSUzI1NiJ9" },
        TokenCase(name: "two parts", expected: .malformedToken) { now in
            let token = try await signToken(claims(now), with: .rsa(Fixtures.rsa1), kid: "rsa-1")
            return String(token[..<token.lastIndex(of: ".")!])
        },
        TokenCase(name: "four parts", expected: .malformedToken) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.rsa1), kid: "rsa-1") + ".AAAA"
        },
        TokenCase(name: "bad base64 in header", expected: .malformedToken) { now in
            "e!J@.\(Fixtures.base64url(json: goodPayload(now))).AAAA"
        },
        TokenCase(name: "padded base64 header", expected: .malformedToken) { now in
            "\(Fixtures.base64url(json: rsaHeader))==.\(Fixtures.base64url(json: goodPayload(now))).AAAA"
        },
        TokenCase(name: "bad base64 in signature", expected: .malformedToken) { now in
            let token = try await signToken(claims(now), with: .rsa(Fixtures.rsa1), kid: "rsa-1")
            return token + "*"
        },
        TokenCase(name: "header is not JSON", expected: .malformedToken) { now in
            "\(Fixtures.base64url(json: "not json")).\(Fixtures.base64url(json: goodPayload(now))).AAAA"
        },
        TokenCase(name: "payload is not JSON", expected: .malformedToken) { _ in
            Fixtures.rawToken(header: rsaHeader, payload: "{\"sub\":", signature: [1, 2, 3])
        },
        TokenCase(name: "header without alg", expected: .malformedToken) { now in
            Fixtures.rawToken(header: #"{"kid":"rsa-1"}"#, payload: goodPayload(now), signature: [1, 2, 3])
        },
        TokenCase(name: "exp is a string", expected: .malformedToken) { now in
            Fixtures.rawToken(header: rsaHeader, payload: #"{"iss":"\#(Fixtures.issuer)","sub":"a","exp":"tomorrow"}"#, signature: [1])
        },
        TokenCase(name: "aud is a number", expected: .malformedToken) { now in
            Fixtures.rawToken(header: rsaHeader, payload: #"{"iss":"\#(Fixtures.issuer)","sub":"a","exp":4102444800,"aud":5}"#, signature: [1])
        },
        TokenCase(name: "aud array with a number", expected: .malformedToken) { now in
            Fixtures.rawToken(header: rsaHeader, payload: #"{"iss":"\#(Fixtures.issuer)","sub":"a","exp":4102444800,"aud":["x",5]}"#, signature: [1])
        },
        TokenCase(name: "exp out of range", expected: .malformedToken) { now in
            Fixtures.rawToken(header: rsaHeader, payload: #"{"iss":"\#(Fixtures.issuer)","sub":"a","exp":1e400}"#, signature: [1])
        },
        TokenCase(name: "sub is an object", expected: .malformedToken) { now in
            Fixtures.rawToken(header: rsaHeader, payload: #"{"iss":"\#(Fixtures.issuer)","sub":{"id":"a"},"exp":4102444800}"#, signature: [1])
        },
        TokenCase(name: "kid is a number", expected: .malformedToken) { now in
            Fixtures.rawToken(header: #"{"alg":"RS256","kid":7}"#, payload: goodPayload(now), signature: [1])
        },
        TokenCase(name: "alg is not a string", expected: .malformedToken) { now in
            Fixtures.rawToken(header: #"{"alg":["RS256"],"kid":"rsa-1"}"#, payload: goodPayload(now), signature: [1])
        },
        TokenCase(name: "payload is a JSON array", expected: .malformedToken) { now in
            Fixtures.rawToken(header: rsaHeader, payload: "[1]", signature: [1])
        },
        TokenCase(name: "empty crit header", expected: .malformedToken) { now in
            Fixtures.rawToken(header: #"{"alg":"RS256","kid":"rsa-1","crit":[]}"#, payload: goodPayload(now), signature: [1])
        },
        TokenCase(name: "crit header", expected: .malformedToken) { now in
            Fixtures.rawToken(header: #"{"alg":"RS256","kid":"rsa-1","crit":["b64"],"b64":false}"#, payload: goodPayload(now), signature: [1])
        },
        TokenCase(name: "too long", expected: .malformedToken) { now in
            Fixtures.rawToken(header: rsaHeader, payload: #"{"pad":"\#(String(repeating: "x", count: 20_000))"}"#, signature: [1])
        },
        TokenCase(name: "no exp", expected: .malformedToken) { now in
            try await signToken(claims(now) { $0.exp = nil }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "no sub", expected: .malformedToken) { now in
            try await signToken(claims(now) { $0.sub = nil }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "empty sub", expected: .malformedToken) { now in
            try await signToken(claims(now) { $0.sub = "" }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },

        // Lifetime
        TokenCase(name: "expired beyond the leeway", expected: .expired) { now in
            try await signToken(claims(now) { $0.exp = now.timeIntervalSince1970 - 61 }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "nbf beyond the leeway", expected: .notYetValid) { now in
            try await signToken(claims(now) { $0.nbf = now.timeIntervalSince1970 + 120 }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "iat in the future", expected: .notYetValid) { now in
            try await signToken(claims(now) { $0.iat = now.timeIntervalSince1970 + 120 }, with: .ec(Fixtures.ec1), kid: "ec-1")
        },

        // Issuer and audience
        TokenCase(name: "wrong issuer", expected: .wrongIssuer) { now in
            try await signToken(claims(now) { $0.iss = "https://evil.test/pool" }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "issuer with a trailing slash", expected: .wrongIssuer) { now in
            try await signToken(claims(now) { $0.iss = Fixtures.issuer + "/" }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "no issuer", expected: .wrongIssuer) { now in
            try await signToken(claims(now) { $0.iss = nil }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "wrong audience", expected: .wrongAudience) { now in
            try await signToken(claims(now) { $0.aud = .one("another-api") }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "aud array without ours", expected: .wrongAudience) { now in
            try await signToken(claims(now) { $0.aud = .many(["a", "b"]) }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "no aud", expected: .wrongAudience) { now in
            try await signToken(claims(now) { $0.aud = nil }, with: .ec(Fixtures.ec1), kid: "ec-1")
        },

        // Algorithm confusion
        TokenCase(name: "alg none, empty signature", expected: .algorithmNotAllowed) { now in
            Fixtures.rawToken(header: #"{"alg":"none","kid":"rsa-1"}"#, payload: goodPayload(now))
        },
        TokenCase(name: "alg None, no kid", expected: .algorithmNotAllowed) { now in
            Fixtures.rawToken(header: #"{"alg":"None"}"#, payload: goodPayload(now))
        },
        TokenCase(name: "HS256 keyed with the RSA public key PEM", expected: .algorithmNotAllowed) { now in
            let pem = Data(Fixtures.rsa1.publicKey.pemRepresentation.utf8)
            return try await signToken(claims(now), with: .hmac(pem), kid: "rsa-1")
        },
        TokenCase(name: "HS256 keyed with the RSA public key DER", expected: .algorithmNotAllowed) { now in
            try await signToken(claims(now), with: .hmac(Fixtures.rsa1.publicKey.derRepresentation), kid: "rsa-1")
        },
        TokenCase(name: "HS256 with the JWKS's own oct key", expected: .algorithmNotAllowed) { now in
            try await signToken(claims(now), with: .hmac(Fixtures.hmacSecret), kid: "hmac-1")
        },
        TokenCase(name: "header RS256 but the key is EC", expected: .algorithmNotAllowed) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.attackerRSA), kid: "ec-1")
        },
        TokenCase(name: "header ES256 but the key is RSA", expected: .algorithmNotAllowed) { now in
            try await signToken(claims(now), with: .ec(Fixtures.ec1), kid: "rsa-1")
        },
        TokenCase(name: "header PS256 for an RS256 key", expected: .algorithmNotAllowed) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.rsa1), kid: "rsa-1", alg: "PS256")
        },

        // Signatures and keys
        TokenCase(name: "signed by another key under our kid", expected: .invalidSignature) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.attackerRSA), kid: "rsa-1")
        },
        TokenCase(name: "payload swapped after signing", expected: .invalidSignature) { now in
            let token = try await signToken(claims(now) { $0.sub = "mallory" }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
            let parts = token.split(separator: ".")
            return "\(parts[0]).\(Fixtures.base64url(json: goodPayload(now))).\(parts[2])"
        },
        TokenCase(name: "ES256 signature of zeros", expected: .invalidSignature) { now in
            let token = try await signToken(claims(now), with: .ec(Fixtures.ec1), kid: "ec-1")
            let parts = token.split(separator: ".")
            return "\(parts[0]).\(parts[1]).\(Fixtures.base64url([UInt8](repeating: 0, count: 64)))"
        },
        TokenCase(name: "ES256 signature too short", expected: .invalidSignature) { now in
            let token = try await signToken(claims(now), with: .ec(Fixtures.ec1), kid: "ec-1")
            let parts = token.split(separator: ".")
            return "\(parts[0]).\(parts[1]).\(Fixtures.base64url([UInt8](repeating: 7, count: 12)))"
        },
        TokenCase(name: "attacker's key embedded in the header (jwk), our kid", expected: .invalidSignature) { now in
            let primitives = try Fixtures.attackerRSA.publicKey.getKeyPrimitives()
            let jwk: JWTHeaderField = .object([
                "kty": .string("RSA"), "n": .string(Fixtures.base64url(primitives.modulus)),
                "e": .string(Fixtures.base64url(primitives.publicExponent)),
            ])
            return try await signToken(claims(now), with: .rsa(Fixtures.attackerRSA), kid: "rsa-1", extraHeader: ["jwk": jwk])
        },
        TokenCase(name: "attacker's JWKS URL in the header (jku), unknown kid", expected: .unknownKey) { now in
            try await signToken(
                claims(now), with: .rsa(Fixtures.attackerRSA), kid: "attacker-1",
                extraHeader: ["jku": .string("http://127.0.0.1:1/attacker-jwks.json"), "x5u": .string("http://127.0.0.1:1/cert.pem")])
        },
        TokenCase(name: "unknown kid", expected: .unknownKey) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.attackerRSA), kid: "not-published")
        },
        TokenCase(name: "kid of an encryption key", expected: .unknownKey) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.rsa2), kid: "rsa-enc")
        },
        TokenCase(name: "no kid, several keys", expected: .unknownKey) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.rsa1), kid: nil)
        },
        TokenCase(
            name: "no kid, one key", expected: nil,
            jwks: { Fixtures.jwks([Fixtures.jwk(rsa: Fixtures.rsa1, kid: "rsa-1")]) }
        ) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.rsa1), kid: nil)
        },
        TokenCase(
            name: "RSA JWK with alg RS384 is not used", expected: .unknownKey,
            jwks: { Fixtures.jwks([Fixtures.jwk(rsa: Fixtures.rsa1, kid: "rsa-1", alg: "RS384")]) }
        ) { now in
            try await signToken(claims(now), with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
    ]

    /// Cognito rows (both token uses accepted unless the row says otherwise).
    static let cognito: [TokenCase] = [
        TokenCase(name: "Cognito access token", expected: nil, configuration: .cognito(tokenUses: ["access", "id"])) { now in
            try await signToken(claims(now) { $0.aud = nil; $0.tokenUse = "access"; $0.clientID = Fixtures.audience }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "Cognito id token", expected: nil, configuration: .cognito(tokenUses: ["access", "id"])) { now in
            try await signToken(claims(now) { $0.tokenUse = "id" }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "Cognito access token, wrong client_id", expected: .wrongAudience, configuration: .cognito(tokenUses: ["access", "id"])) { now in
            try await signToken(claims(now) { $0.aud = nil; $0.tokenUse = "access"; $0.clientID = "other-client" }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "Cognito access token, aud but no client_id", expected: .wrongAudience, configuration: .cognito(tokenUses: ["access", "id"])) { now in
            try await signToken(claims(now) { $0.tokenUse = "access" }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "Cognito id token, wrong aud", expected: .wrongAudience, configuration: .cognito(tokenUses: ["access", "id"])) { now in
            try await signToken(claims(now) { $0.tokenUse = "id"; $0.aud = .one("other-client"); $0.clientID = Fixtures.audience }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "Cognito token_use refresh", expected: .wrongTokenUse, configuration: .cognito(tokenUses: ["access", "id"])) { now in
            try await signToken(claims(now) { $0.tokenUse = "refresh"; $0.clientID = Fixtures.audience }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "Cognito token without token_use", expected: .wrongTokenUse, configuration: .cognito(tokenUses: ["access", "id"])) { now in
            try await signToken(claims(now) { $0.clientID = Fixtures.audience }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
        TokenCase(name: "Cognito id token where only access is accepted", expected: .wrongTokenUse, configuration: .cognito(tokenUses: ["access"])) { now in
            try await signToken(claims(now) { $0.tokenUse = "id" }, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
        },
    ]
}

@Suite("JWKSTokenVerifier")
struct JWKSTokenVerifierTests {
    @Test("attack and claims table", arguments: TokenCase.oidc + TokenCase.cognito)
    func table(_ row: TokenCase) async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: row.jwks())
        try await server.run { baseURL in
            var configuration = JWTVerifierConfiguration(
                issuer: Fixtures.issuer, jwksURL: baseURL + "/.well-known/jwks.json", audiences: [Fixtures.audience])
            if case .cognito(let uses) = row.configuration { configuration.kind = .cognito(tokenUses: uses) }
            let verifier = JWKSTokenVerifier(configuration: configuration, clock: clock.date)
            let token = try await row.token(clock.now)
            do throws(AuthError) {
                let user = try await verifier.verify(token)
                #expect(row.expected == nil, "accepted, expected \(row.expected.map(\.rawValue) ?? "-")")
                #expect(user.subject == "alice")
                #expect(user.issuer == Fixtures.issuer)
            } catch {
                #expect(error.code == row.expected, "\(error)")
                #expect(!error.message.contains(token) || token.isEmpty, "the message must not echo the token")
            }
        }
    }

    @Test("the user carries sub, iss and exp")
    func user() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Fixtures.standardJWKS)
        try await server.run { baseURL in
            let verifier = JWKSTokenVerifier(
                configuration: .init(issuer: Fixtures.issuer, jwksURL: baseURL + "/.well-known/jwks.json", audiences: [Fixtures.audience]),
                clock: clock.date)
            var claims = TestClaims(now: clock.now)
            claims.sub = "user-123"
            claims.exp = clock.now.timeIntervalSince1970 + 300
            let user = try await verifier.verify(try await signToken(claims, with: .ec(Fixtures.ec1), kid: "ec-1"))
            #expect(user == AuthenticatedUser(subject: "user-123", issuer: Fixtures.issuer, expiresAt: clock.now.addingTimeInterval(300)))
        }
    }

    @Test("an empty audience set accepts no token")
    func emptyAudiences() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Fixtures.standardJWKS)
        try await server.run { baseURL in
            let verifier = JWKSTokenVerifier(
                configuration: .init(issuer: Fixtures.issuer, jwksURL: baseURL + "/.well-known/jwks.json", audiences: []),
                clock: clock.date)
            let token = try await signToken(TestClaims(now: clock.now), with: .rsa(Fixtures.rsa1), kid: "rsa-1")
            let error = await #expect(throws: AuthError.self) { try await verifier.verify(token) }
            #expect(error?.code == .wrongAudience)
        }
    }

    @Test("a key set with odd entries keeps its usable keys")
    func lenientKeySet() async throws {
        let clock = TestClock()
        let document = Fixtures.jwks([
            ["kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"],
            ["kty": "EC", "kid": "p384", "crv": "P-384", "x": "AAAA", "y": "AAAA"],
            ["kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AAAA"],
            ["kty": 7, "kid": "numeric"],
            Fixtures.jwk(ec: Fixtures.ec1, kid: "ec-1", alg: nil),
            Fixtures.jwk(rsa: Fixtures.rsa1, kid: "rsa-1", alg: nil, use: nil),
        ])
        let server = JWKSTestServer(document: document)
        try await server.run { baseURL in
            let verifier = JWKSTokenVerifier(
                configuration: .init(issuer: Fixtures.issuer, jwksURL: baseURL + "/.well-known/jwks.json", audiences: [Fixtures.audience]),
                clock: clock.date)
            _ = try await verifier.verify(try await signToken(TestClaims(now: clock.now), with: .ec(Fixtures.ec1), kid: "ec-1"))
            _ = try await verifier.verify(try await signToken(TestClaims(now: clock.now), with: .rsa(Fixtures.rsa1), kid: "rsa-1"))
            #expect(server.requests == 1)
        }
    }
}
