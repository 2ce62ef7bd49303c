import Auth
import Foundation
import Synchronization
import Testing

/// A verifier that accepts any non-empty token and records it.
final class RecordingVerifier: TokenVerifier {
    let seen = Mutex<[String]>([])

    func verify(_ token: String) async throws(AuthError) -> AuthenticatedUser {
        seen.withLock { $0.append(token) }
        return AuthenticatedUser(subject: token, issuer: "test", expiresAt: Date(timeIntervalSince1970: 0))
    }
}

@Suite("TokenVerifier and AuthError")
struct TokenVerifierTests {
    @Test("Authorization header parsing", arguments: [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("  Bearer   abc  ", "abc"),
    ])
    func bearer(header: String, token: String) async throws {
        let verifier = RecordingVerifier()
        let user = try await verifier.verify(authorization: header)
        #expect(user.subject == token)
    }

    @Test("no usable bearer token", arguments: [nil, "", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Bearerabc", "Token abc"] as [String?])
    func missing(header: String?) async throws {
        let verifier = RecordingVerifier()
        let error = await #expect(throws: AuthError.self) { try await verifier.verify(authorization: header) }
        #expect(error?.code == .missingToken)
        #expect(verifier.seen.withLock { $0.isEmpty })
    }

    @Test("codes, statuses and challenges")
    func errors() {
        let codes: [(AuthError.Code, String)] = [
            (.missingToken, "missing_token"), (.malformedToken, "malformed_token"),
            (.invalidSignature, "invalid_signature"), (.unknownKey, "unknown_key"),
            (.algorithmNotAllowed, "algorithm_not_allowed"), (.expired, "token_expired"),
            (.notYetValid, "token_not_yet_valid"), (.wrongIssuer, "wrong_issuer"),
            (.wrongAudience, "wrong_audience"), (.wrongTokenUse, "wrong_token_use"),
            (.jwksUnavailable, "jwks_unavailable"),
        ]
        for (code, raw) in codes {
            #expect(code.rawValue == raw)
            let error = AuthError(code, "m")
            #expect(error.description == "\(raw): m")
        }
    }

    @Test("the Cognito helper builds the pool's issuer and JWKS URL")
    func cognitoConfiguration() {
        let configuration = JWTVerifierConfiguration.cognito(region: "eu-west-1", userPoolId: "eu-west-1_AbC", clientIds: ["client"])
        #expect(configuration.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC")
        #expect(configuration.jwksURL == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json")
        #expect(configuration.audiences == ["client"])
        #expect(configuration.kind == .cognito(tokenUses: ["access", "id"]))
        #expect(configuration.leeway == .seconds(60))
        #expect(configuration.minimumRefreshInterval == .seconds(30))
        #expect(configuration.fetchTimeout == .seconds(5))
    }
}
