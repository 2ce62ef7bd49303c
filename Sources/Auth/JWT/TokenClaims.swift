import FlatJSON
import Foundation

/// The claims verification reads (RFC 7519 §4.1, OIDC Core §2, Cognito's `token_use` and `client_id`).
///
/// Other claims are ignored. A registered claim of the wrong JSON type makes the whole
/// payload malformed rather than silently absent; `null` counts as absent.
struct TokenClaims {
    /// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
    enum Audience {
        case one(String)
        case many([String])

        func intersects(_ accepted: Set<String>) -> Bool {
            switch self {
            case .one(let value): return accepted.contains(value)
            case .many(let values): return values.contains { accepted.contains($0) }
            }
        }
    }

    var iss: String?
    var sub: String?
    var aud: Audience?
    /// NumericDate values (RFC 7519 §2): seconds since the epoch, possibly fractional.
    var exp: Double?
    var nbf: Double?
    var iat: Double?
    /// Cognito: `access` or `id`.
    var tokenUse: String?
    /// Cognito access tokens: the app client id.
    var clientID: String?

    /// A claim whose JSON type is not the one its definition gives.
    struct WrongType: Error {}

    /// Reads the claims from the payload's JSON fields.
    ///
    /// - Throws: ``WrongType`` for a registered claim of the wrong type.
    init(_ fields: [String: FlatJSON.Value]) throws(WrongType) {
        iss = try Self.string(fields["iss"])
        sub = try Self.string(fields["sub"])
        switch fields["aud"] {
        case nil, .null?: aud = nil
        case .string(let one)?: aud = .one(one)
        case .strings(let many)?: aud = .many(many)
        default: throw WrongType()
        }
        exp = try Self.number(fields["exp"])
        nbf = try Self.number(fields["nbf"])
        iat = try Self.number(fields["iat"])
        tokenUse = try Self.string(fields["token_use"])
        clientID = try Self.string(fields["client_id"])
    }

    /// A string claim; `nil` when absent or `null`.
    static func string(_ value: FlatJSON.Value?) throws(WrongType) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw WrongType()
        }
    }

    /// A number claim (finite); `nil` when absent or `null`.
    static func number(_ value: FlatJSON.Value?) throws(WrongType) -> Double? {
        switch value {
        case nil, .null?: return nil
        case .number(let text)?:
            guard let number = Double(text), number.isFinite else { throw WrongType() }
            return number
        default: throw WrongType()
        }
    }
}

/// The claim checks of one configuration, applied after the signature has been verified.
struct ClaimsValidator: Sendable {
    let issuer: String
    let audiences: Set<String>
    let kind: JWTVerifierConfiguration.Kind
    let leeway: Double

    init(configuration: JWTVerifierConfiguration) {
        issuer = configuration.issuer
        audiences = configuration.audiences
        kind = configuration.kind
        leeway = configuration.leeway.seconds
    }

    /// Checks issuer, lifetime, audience (and Cognito's token use) and subject.
    ///
    /// - Parameters:
    ///   - claims: The verified token's claims.
    ///   - now: The current time.
    /// - Returns: The user the token proves.
    /// - Throws: ``AuthError`` naming the first failed check.
    func validate(_ claims: TokenClaims, now: Date) throws(AuthError) -> AuthenticatedUser {
        // RFC 7519 §4.1.1 / OIDC Core §3.1.3.7 step 2: iss must match exactly.
        guard let iss = claims.iss, iss == issuer else {
            throw AuthError(.wrongIssuer, "The token was not issued by the expected issuer.")
        }
        // RFC 7519 §4.1.4: exp is required here, and now must be before it (plus leeway).
        guard let exp = claims.exp else {
            throw AuthError(.malformedToken, "The token has no exp claim.")
        }
        let current = now.timeIntervalSince1970
        guard current < exp + leeway else {
            throw AuthError(.expired, "The token has expired.")
        }
        // RFC 7519 §4.1.5: not before nbf (minus leeway).
        if let nbf = claims.nbf, current + leeway < nbf {
            throw AuthError(.notYetValid, "The token is not valid yet.")
        }
        // RFC 7519 §4.1.6: a token issued in the future (beyond the leeway) is refused too.
        if let iat = claims.iat, current + leeway < iat {
            throw AuthError(.notYetValid, "The token was issued in the future.")
        }
        try validateAudience(claims)
        guard let subject = claims.sub, !subject.isEmpty else {
            throw AuthError(.malformedToken, "The token has no subject.")
        }
        return AuthenticatedUser(subject: subject, issuer: iss, expiresAt: Date(timeIntervalSince1970: exp))
    }

    private func validateAudience(_ claims: TokenClaims) throws(AuthError) {
        switch kind {
        case .oidc:
            // OIDC Core §3.1.3.7 step 3: aud must contain one of our client ids.
            guard let aud = claims.aud, aud.intersects(audiences) else {
                throw AuthError(.wrongAudience, "The token is not meant for this API.")
            }
        case .cognito(let tokenUses):
            // Cognito: check token_use, then the client id where that kind of token carries it.
            guard let use = claims.tokenUse, tokenUses.contains(use) else {
                throw AuthError(.wrongTokenUse, "The token's token_use is not accepted here.")
            }
            switch use {
            case "access":
                guard let clientID = claims.clientID, audiences.contains(clientID) else {
                    throw AuthError(.wrongAudience, "The token was issued to another app client.")
                }
            case "id":
                guard let aud = claims.aud, aud.intersects(audiences) else {
                    throw AuthError(.wrongAudience, "The token was issued to another app client.")
                }
            default:
                throw AuthError(.wrongTokenUse, "The token's token_use is not accepted here.")
            }
        }
    }
}
