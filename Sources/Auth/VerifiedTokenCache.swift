import Crypto
import Foundation
import Synchronization

/// Tokens already verified, so a client that sends the same token with every
/// request pays for one RSA or ECDSA verification, not one per request.
///
/// Keyed by the SHA-256 of the whole token (signature included: a token that
/// differs in any byte misses), so raw tokens are not kept. An entry answers
/// only while the token has not expired and its key is still in the issuer's
/// key set; the cache is bounded and simply emptied when full.
final class VerifiedTokenCache: Sendable {
    struct Entry: Sendable {
        let user: AuthenticatedUser
        let keyID: String?
    }

    private let entries = Mutex<[SHA256.Digest: Entry]>([:])
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    static func digest(_ token: String) -> SHA256.Digest {
        var hasher = SHA256()
        var token = token
        token.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return hasher.finalize()
    }

    /// The user of a token verified before, if it is still good at `now`.
    func user(for digest: SHA256.Digest, now: Date, keyStillPublished: (String?) -> Bool) -> AuthenticatedUser? {
        guard let entry = entries.withLock({ $0[digest] }) else { return nil }
        guard now < entry.user.expiresAt, keyStillPublished(entry.keyID) else {
            _ = entries.withLock { $0.removeValue(forKey: digest) }
            return nil
        }
        return entry.user
    }

    func insert(_ user: AuthenticatedUser, keyID: String?, for digest: SHA256.Digest) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[digest] = Entry(user: user, keyID: keyID)
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
