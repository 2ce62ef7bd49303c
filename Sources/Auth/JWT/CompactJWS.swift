import FlatJSON
import Foundation

/// A JWT in JWS compact serialisation (RFC 7515 §7.1), split and decoded but not yet verified.
///
/// Parsing checks only structure: three base64url parts, a JSON header with a string `alg`,
/// a JSON payload whose registered claims have the right types. Nothing here is trusted
/// until the signature over ``signingInput`` has been checked.
package struct CompactJWS {
    /// Tokens longer than this are refused before any decoding.
    static let maximumLength = 16 * 1024

    /// The protected header's fields that verification reads.
    struct Header {
        /// `alg`: the algorithm the signer claims to have used.
        var alg: String
        /// `kid`: which of the issuer's keys signed the token.
        var kid: String?
        /// `crit`: extensions the recipient must understand (RFC 7515 §4.1.11); we understand none.
        var crit: [String]?

        /// Reads the header from its JSON fields; `nil` when `alg` is not a string, or `kid`
        /// or `crit` has the wrong type.
        init?(_ fields: [String: FlatJSON.Value]) {
            guard case .string(let alg)? = fields["alg"] else { return nil }
            self.alg = alg
            switch fields["kid"] {
            case nil, .null?: kid = nil
            case .string(let id)?: kid = id
            default: return nil
            }
            switch fields["crit"] {
            case nil, .null?: crit = nil
            case .strings(let names)?: crit = names
            default: return nil
            }
        }
    }

    /// The decoded header.
    let header: Header
    /// The decoded claims.
    let claims: TokenClaims
    /// The decoded signature.
    let signature: [UInt8]
    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    let signingInput: ArraySlice<UInt8>

    /// Splits and decodes a token.
    ///
    /// - Throws: ``AuthError/Code/missingToken`` for an empty token, ``AuthError/Code/malformedToken`` otherwise.
    package init(_ token: String) throws(AuthError) {
        guard !token.isEmpty else { throw AuthError(.missingToken, "The bearer token is empty.") }
        guard token.utf8.count <= Self.maximumLength else {
            throw AuthError(.malformedToken, "The token is too long.")
        }
        let bytes = Array(token.utf8)
        let period = UInt8(ascii: ".")
        guard let first = bytes.firstIndex(of: period),
              let second = bytes[(first + 1)...].firstIndex(of: period),
              !bytes[(second + 1)...].contains(period)
        else {
            throw AuthError(.malformedToken, "The token is not three base64url parts separated by periods.")
        }
        guard let headerBytes = Base64URL.decode(bytes[..<first]),
              let payloadBytes = Base64URL.decode(bytes[(first + 1)..<second]),
              let signature = Base64URL.decode(bytes[(second + 1)...])
        else {
            throw AuthError(.malformedToken, "The token is not valid base64url.")
        }
        // The header and claims are read with FlatJSON, on the bytes: `JSONDecoder` cost
        // more than the RSA signature check for each new token.
        guard let headerFields = try? FlatJSON.object(headerBytes), let header = Header(headerFields) else {
            throw AuthError(.malformedToken, "The token's header is not a JSON object with a string alg.")
        }
        self.header = header
        if header.crit != nil {
            throw AuthError(.malformedToken, "The token's header has critical extensions this server does not understand.")
        }
        guard let payloadFields = try? FlatJSON.object(payloadBytes), let claims = try? TokenClaims(payloadFields) else {
            throw AuthError(.malformedToken, "The token's payload is not a JSON object of well-typed claims.")
        }
        self.claims = claims
        self.signature = signature
        self.signingInput = bytes[..<second]
    }
}
