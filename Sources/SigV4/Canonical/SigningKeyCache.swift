import Synchronization

/// A bounded cache of derived signing keys, keyed by (secret, date, region, service).
///
/// Deriving a key costs four HMACs; a key is valid for a whole UTC day, so a
/// server verifying many requests, or a signer issuing many URLs, derives it
/// once per day. Shared across tasks; lookups take a short lock and never
/// suspend, so signing stays synchronous.
///
/// ```swift
/// let key = SigningKeyCache.shared.key(secretAccessKey: secret, date: "20240101", region: "us-east-1", service: "s3")
/// ```
public final class SigningKeyCache: Sendable {
    struct Entry: Hashable, Sendable {
        var secret: String
        var date: String
        var region: String
        var service: String
    }

    /// A process-wide cache, for callers that do not manage their own.
    public static let shared = SigningKeyCache()

    private let capacity: Int
    private let storage: Mutex<[Entry: SigningKey]>

    /// Creates a cache that holds at most `capacity` keys; when full, it is emptied.
    public init(capacity: Int = 1024) {
        self.capacity = max(1, capacity)
        self.storage = Mutex([:])
    }

    /// The signing key for the scope, derived on first use.
    public func key(secretAccessKey: String, date: String, region: String, service: String) -> SigningKey {
        let entry = Entry(secret: secretAccessKey, date: date, region: region, service: service)
        if let key = storage.withLock({ $0[entry] }) {
            return key
        }
        let key = SigningKey(secretAccessKey: secretAccessKey, date: date, region: region, service: service)
        storage.withLock { keys in
            if keys.count >= capacity { keys.removeAll(keepingCapacity: true) }
            keys[entry] = key
        }
        return key
    }

    /// How many keys the cache holds now.
    public var count: Int { storage.withLock { $0.count } }
}

/// One signer's most recent (day, key) pair, so the common case — many
/// signatures on the same day — takes one short lock and no string hashing.
final class RecentSigningKey: Sendable {
    private let state = Mutex<(day: Int64, key: SigningKey)?>(nil)

    func key(forDay day: Int64) -> SigningKey? {
        state.withLock { current in
            guard let current, current.day == day else { return nil }
            return current.key
        }
    }

    func store(_ key: SigningKey, forDay day: Int64) {
        state.withLock { $0 = (day, key) }
    }
}
