import Foundation
import PostgresNIO
import Uploads

/// The per-user token bucket in PostgreSQL, shared by every API replica: with two replicas a
/// user still gets `ratePerMinute` URLs a minute in all. One atomic statement per check (an
/// upsert of the user's bucket row that refills, takes a token if it can, and returns the
/// result), so concurrent checks from any replica serialise on the row.
public struct PostgresRateLimiter: UploadRateLimiter {
    let database: PostgresUploadsDatabase
    let ratePerSecond: Double
    let burst: Double

    /// A limiter of `burst` URLs at once, then `ratePerMinute` on average, per user.
    public init(database: PostgresUploadsDatabase, ratePerMinute: Double, burst: Double) {
        self.database = database
        self.ratePerSecond = max(ratePerMinute, 0.0001) / 60
        self.burst = max(burst, 1)
    }

    /// Bucket arithmetic of ``RateLimiter``: refill since the last check (never above `burst`),
    /// then take one token if there is one. `$2` now, `$3` burst, `$4` tokens per second.
    static let sql = {
        let refill = "least($3::float8, bucket.tokens + greatest(0::float8, $2::float8 - bucket.updated_at) * $4::float8)"
        return """
            INSERT INTO hoist_rate_limit AS bucket (subject, tokens, updated_at, allowed)
            VALUES ($1, $3::float8 - 1, $2::float8, true)
            ON CONFLICT (subject) DO UPDATE SET
                tokens = CASE WHEN \(refill) >= 1 THEN \(refill) - 1 ELSE \(refill) END,
                updated_at = greatest(bucket.updated_at, $2::float8),
                allowed = \(refill) >= 1
            RETURNING tokens, allowed
            """
    }()

    public func acquire(_ user: String, now: Date) async throws -> Int? {
        var binds = PostgresBindings(capacity: 4)
        binds.append(user)
        binds.append(now.timeIntervalSince1970)
        binds.append(burst)
        binds.append(ratePerSecond)
        let (tokens, allowed) = try await database.query(PostgresQuery(unsafeSQL: Self.sql, binds: binds)) { rows in
            var answer: (Double, Bool) = (0, false)
            for try await row in rows.decode((Double, Bool).self) { answer = row }
            return answer
        }
        if allowed { return nil }
        let rate = ratePerSecond
        return max(1, Int(((1 - tokens) / rate).rounded(.up)))
    }
}
