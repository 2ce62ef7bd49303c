import Foundation
import Logging
import Synchronization

/// The verification keys of one issuer: read without waiting, refreshed once for many waiters.
///
/// Reads (``snapshot()``) take a lock just long enough to copy one reference, so the
/// verification hot path never queues behind the actor. Refreshes go through the actor:
/// the first caller starts one fetch, every caller that arrives while it runs awaits that
/// same fetch, and a new fetch starts at most once per `minimumRefreshInterval`.
/// A failed fetch keeps the keys already held.
actor JWKSCache {
    /// What the hot path reads.
    struct Snapshot: Sendable {
        /// The keys of the last successful fetch (empty before the first one).
        var keys = JWKSKeySet()
        /// When the last successful fetch started; `nil` before the first one.
        var fetchedAt: Date?
        /// Whether the most recent fetch failed.
        var lastFetchFailed = false
    }

    private struct Shared {
        var snapshot = Snapshot()
        /// No background refresh is started before this time.
        var nextBackgroundRefresh = Date.distantPast
    }

    private nonisolated let shared = Mutex(Shared())
    private let fetcher: JWKSFetcher
    private let minimumRefreshInterval: Double
    private let maximumKeyAge: Double
    private let logger: Logger

    private var inFlight: Task<Void, Never>?
    private var lastAttempt: Date?

    init(fetcher: JWKSFetcher, minimumRefreshInterval: Duration, maximumKeyAge: Duration, logger: Logger) {
        self.fetcher = fetcher
        self.minimumRefreshInterval = minimumRefreshInterval.seconds
        self.maximumKeyAge = maximumKeyAge.seconds
        self.logger = logger
    }

    /// The current keys, without waiting for the actor.
    nonisolated func snapshot() -> Snapshot {
        shared.withLock { $0.snapshot }
    }

    /// Starts a background refresh if the keys are older than the maximum age
    /// (at most one start per `minimumRefreshInterval`); returns at once.
    nonisolated func refreshInBackgroundIfStale(_ snapshot: Snapshot, now: Date) {
        guard let fetchedAt = snapshot.fetchedAt, now.timeIntervalSince(fetchedAt) >= maximumKeyAge else { return }
        let start = shared.withLock { shared -> Bool in
            guard now >= shared.nextBackgroundRefresh else { return false }
            shared.nextBackgroundRefresh = now.addingTimeInterval(minimumRefreshInterval)
            return true
        }
        if start {
            Task { _ = await self.refresh(now: now) }
        }
    }

    /// Fetches the key set unless one was fetched less than `minimumRefreshInterval` ago;
    /// joins the fetch already running, if any.
    ///
    /// - Parameters:
    ///   - now: The current time.
    ///   - force: Ignore the rate limit (still joins a running fetch).
    /// - Returns: The keys after the fetch (or the current ones when rate-limited).
    func refresh(now: Date, force: Bool = false) async -> Snapshot {
        if let inFlight {
            await inFlight.value
            return snapshot()
        }
        if !force, let lastAttempt, now.timeIntervalSince(lastAttempt) < minimumRefreshInterval {
            return snapshot()
        }
        lastAttempt = now
        // An unstructured task, so that a cancelled caller does not cancel the fetch the others wait on.
        let task = Task { await self.fetchAndPublish(startedAt: now) }
        inFlight = task
        await task.value
        return snapshot()
    }

    private func fetchAndPublish(startedAt: Date) async {
        defer { inFlight = nil }
        let data: Data
        do {
            data = try await fetcher.fetch(logger: logger)
        } catch {
            logger.warning("JWKS fetch failed; keeping the cached keys", metadata: [
                "auth.jwks.url": "\(fetcher.url)", "error": "\(error)",
            ])
            shared.withLock { $0.snapshot.lastFetchFailed = true }
            return
        }
        let keys: JWKSKeySet
        do {
            keys = try await JWKSKeySet.parse(data, logger: logger)
        } catch {
            logger.warning("JWKS document is not a key set; keeping the cached keys", metadata: [
                "auth.jwks.url": "\(fetcher.url)", "error": "\(error)",
            ])
            shared.withLock { $0.snapshot.lastFetchFailed = true }
            return
        }
        logger.info("JWKS fetched", metadata: ["auth.jwks.url": "\(fetcher.url)", "auth.jwks.keys": "\(keys.count)"])
        shared.withLock {
            $0.snapshot = Snapshot(keys: keys, fetchedAt: startedAt, lastFetchFailed: false)
            $0.nextBackgroundRefresh = startedAt.addingTimeInterval(minimumRefreshInterval)
        }
    }
}
