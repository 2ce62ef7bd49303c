import Crypto
import Foundation
import Synchronization

/// Tokens already verified, so a client that sends the same token with every request
/// pays for one RSA or ECDSA verification, not one per request.
///
/// - Keyed by the SHA-256 of the whole token (signature included, so a token that differs
///   in any byte misses); raw tokens are never kept.
/// - An entry answers only before the token's `exp` and only while the issuer still
///   publishes the very key that verified it: the same `kid` with the same key material
///   (``VerificationKey/fingerprint``). A key that is withdrawn or replaced under its `kid`
///   ends every entry it verified.
/// - Bounded: when full it starts again empty (the next request of each client verifies afresh).
final class VerifiedTokenCache: Sendable {
    struct Entry: Sendable {
        let user: AuthenticatedUser
        let keyID: String?
        let keyFingerprint: SHA256.Digest
    }

    private let entries = Mutex<[SHA256.Digest: Entry]>([:])
    /// The most entries held at once.
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// The cache key of a token.
    static func digest(_ token: String) -> SHA256.Digest {
        var hasher = SHA256()
        var token = token
        token.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return hasher.finalize()
    }

    /// The user of a token verified before, if it is still good at `now` with the keys of `keys`.
    func user(for digest: SHA256.Digest, now: Date, keys: JWKSKeySet) -> AuthenticatedUser? {
        guard let entry = entries.withLock({ $0[digest] }) else { return nil }
        guard now < entry.user.expiresAt, keys.key(for: entry.keyID)?.fingerprint == entry.keyFingerprint else {
            _ = entries.withLock { $0.removeValue(forKey: digest) }
            return nil
        }
        return entry.user
    }

    /// Remembers a token that `key` verified.
    func insert(_ user: AuthenticatedUser, key: VerificationKey, keyID: String?, for digest: SHA256.Digest) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[digest] = Entry(user: user, keyID: keyID, keyFingerprint: key.fingerprint)
        }
    }

    /// How many tokens are cached.
    var count: Int { entries.withLock { $0.count } }
}
