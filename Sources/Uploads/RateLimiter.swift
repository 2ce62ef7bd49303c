import Foundation
import Synchronization

/// The per-user limit on issued upload URLs: in process (``RateLimiter``) for one API
/// process, or shared by every replica in the records' database (`PostgresRateLimiter`).
public protocol UploadRateLimiter: Sendable {
    /// Takes one token for `user`.
    /// - Returns: `nil` when allowed, or the seconds to wait before the next token.
    /// - Throws: ``DatabaseUnavailableError`` when a shared limiter cannot reach its database.
    func acquire(_ user: String, now: Date) async throws -> Int?
}

/// A token bucket per user, in this process: `burst` requests at once, then `ratePerMinute` on average.
public final class RateLimiter: UploadRateLimiter {
    struct Bucket {
        var tokens: Double
        var updated: Double
    }

    private let ratePerSecond: Double
    private let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    private static let maximumTracked = 100_000

    /// Creates a limiter.
    public init(ratePerMinute: Double, burst: Double) {
        self.ratePerSecond = max(ratePerMinute, 0.0001) / 60
        self.burst = max(burst, 1)
    }

    /// Takes one token for `user`.
    /// - Returns: `nil` when allowed, or the seconds to wait before the next token.
    public func acquire(_ user: String, now: Date) -> Int? {
        let t = now.timeIntervalSince1970
        return buckets.withLock { buckets in
            if buckets.count > Self.maximumTracked {
                // Forget users whose buckets have refilled: they are equivalent to new ones.
                buckets = buckets.filter { (t - $0.value.updated) * ratePerSecond + $0.value.tokens < burst }
            }
            var bucket = buckets[user] ?? Bucket(tokens: burst, updated: t)
            bucket.tokens = min(burst, bucket.tokens + max(0, t - bucket.updated) * ratePerSecond)
            bucket.updated = t
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                buckets[user] = bucket
                return nil
            }
            buckets[user] = bucket
            return max(1, Int(((1 - bucket.tokens) / ratePerSecond).rounded(.up)))
        }
    }
}
