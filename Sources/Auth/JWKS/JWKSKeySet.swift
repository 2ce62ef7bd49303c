import Crypto
import Foundation
import JWTKit
import Logging

/// The one algorithm a key verifies, decided by the key, never by the token.
enum PinnedAlgorithm: String, Sendable {
    case rs256 = "RS256"
    case es256 = "ES256"
}

/// A parsed public key from the issuer's key set, ready to verify signatures.
struct VerificationKey: Sendable {
    /// The key's `kid`, if it has one.
    let id: String?
    /// The one algorithm this key verifies.
    let algorithm: PinnedAlgorithm
    /// jwt-kit's verifier for this key and algorithm.
    let verifier: any JWTAlgorithm
    /// The SHA-256 of the algorithm and the public key's parameters: two keys with the
    /// same fingerprint verify the same signatures, whatever their `kid`.
    let fingerprint: SHA256.Digest

    /// Whether `signature` is this key's signature of `signingInput`.
    func verifies(_ signature: [UInt8], of signingInput: ArraySlice<UInt8>) -> Bool {
        (try? verifier.verify(signature, signs: signingInput)) ?? false
    }
}

/// An immutable set of verification keys, as of one successful fetch.
package struct JWKSKeySet: Sendable {
    private let byID: [String: VerificationKey]
    private let only: VerificationKey?
    /// How many usable keys the set holds.
    package let count: Int

    /// An empty set.
    init() {
        byID = [:]
        only = nil
        count = 0
    }

    private init(keys: [VerificationKey]) {
        var byID: [String: VerificationKey] = [:]
        for key in keys {
            if let id = key.id, byID[id] == nil { byID[id] = key }
        }
        self.byID = byID
        self.only = keys.count == 1 ? keys[0] : nil
        self.count = keys.count
    }

    /// The key a token's `kid` names; with no `kid`, the set's only key if it has exactly one.
    func key(for id: String?) -> VerificationKey? {
        if let id { return byID[id] }
        return only
    }

    /// Parses a JWKS document (RFC 7517 §5), keeping the keys this verifier can pin.
    ///
    /// Kept: `kty: RSA` keys of at least 2048 bits (`alg` absent or `RS256`) → RS256, and
    /// `kty: EC`, `crv: P-256` keys (`alg` absent or `ES256`) → ES256, whose `use` is absent or
    /// `sig` and whose `key_ops`, if present, include `verify`. Everything else — symmetric
    /// (`oct`) keys, other curves and algorithms, encryption keys, unparsable keys — is skipped
    /// and logged, so one odd key does not take the whole set down.
    ///
    /// - Parameters:
    ///   - document: The JWKS JSON.
    ///   - logger: Where skipped keys are reported (at debug level).
    /// - Returns: The usable keys.
    /// - Throws: If the document is not a JSON object with a `keys` array.
    package static func parse(_ document: Data, logger: Logger) async throws -> JWKSKeySet {
        let jwks = try JSONDecoder().decode(Document.self, from: document)
        let collection = JWTKeyCollection()
        var keys: [VerificationKey] = []
        var seenIDs: Set<String> = []
        for (index, jwk) in jwks.keys.enumerated() {
            let kid = jwk.kid
            // A synthetic id inside the throwaway collection for keys without one.
            let collectionID = JWKIdentifier(string: "\(index):\(kid ?? "")")
            do {
                guard let algorithm = try await jwk.addPinned(to: collection, as: collectionID) else {
                    logger.debug("JWKS key skipped: unsupported type, curve, algorithm or use", metadata: [
                        "auth.jwks.kid": "\(kid ?? "-")", "auth.jwks.kty": "\(jwk.kty ?? "-")",
                    ])
                    continue
                }
                if let kid {
                    guard seenIDs.insert(kid).inserted else {
                        logger.debug("JWKS key skipped: duplicate kid", metadata: ["auth.jwks.kid": "\(kid)"])
                        continue
                    }
                }
                let verifier = try await collection.getKey(for: collectionID)
                keys.append(VerificationKey(id: kid, algorithm: algorithm, verifier: verifier, fingerprint: jwk.fingerprint(algorithm)))
            } catch {
                logger.debug("JWKS key skipped: invalid key material", metadata: [
                    "auth.jwks.kid": "\(kid ?? "-")", "error": "\(error)",
                ])
            }
        }
        return JWKSKeySet(keys: keys)
    }

    private struct Document: Decodable {
        var keys: [RawJWK]
    }

    /// One JWK with every field optional and leniently typed: a field of the wrong type reads as absent.
    private struct RawJWK: Decodable {
        var kty: String?
        var kid: String?
        var alg: String?
        var use: String?
        var keyOps: [String]?
        var crv: String?
        var n: String?
        var e: String?
        var x: String?
        var y: String?

        private enum CodingKeys: String, CodingKey {
            case kty, kid, alg, use, crv, n, e, x, y
            case keyOps = "key_ops"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            func string(_ key: CodingKeys) -> String? { try? container.decodeIfPresent(String.self, forKey: key) }
            kty = string(.kty)
            kid = string(.kid)
            alg = string(.alg)
            use = string(.use)
            crv = string(.crv)
            n = string(.n)
            e = string(.e)
            x = string(.x)
            y = string(.y)
            keyOps = try? container.decodeIfPresent([String].self, forKey: .keyOps)
        }

        /// The SHA-256 of the algorithm and the key parameters (fields separated so none can run into another).
        func fingerprint(_ algorithm: PinnedAlgorithm) -> SHA256.Digest {
            let fields = [algorithm.rawValue, crv ?? "", n ?? "", e ?? "", x ?? "", y ?? ""]
            return SHA256.hash(data: Array(fields.joined(separator: "\u{0}").utf8))
        }

        /// Adds the key to `collection` with its pinned algorithm, or returns `nil` if it is not one we verify with.
        func addPinned(to collection: JWTKeyCollection, as id: JWKIdentifier) async throws -> PinnedAlgorithm? {
            if let use, use != "sig" { return nil }
            if let keyOps, !keyOps.contains("verify") { return nil }
            switch kty {
            case "RSA":
                guard alg == nil || alg == PinnedAlgorithm.rs256.rawValue, let n, let e else { return nil }
                // jwt-kit refuses RSA keys under 2048 bits.
                let key = try JWTKit.Insecure.RSA.PublicKey(modulus: n, exponent: e)
                await collection.add(rsa: key, digestAlgorithm: .sha256, kid: id)
                return .rs256
            case "EC":
                guard crv == "P-256", alg == nil || alg == PinnedAlgorithm.es256.rawValue, let x, let y else { return nil }
                // The x9.63 import checks that the point is on the curve.
                let key = try ES256PublicKey(parameters: (x: x, y: y))
                await collection.add(ecdsa: key, kid: id)
                return .es256
            default:
                return nil
            }
        }
    }
}
