import Foundation
import Logging
import ObjectStoreEngine
import ServiceLifecycle

/// The store's background task that applies bucket lifecycle rules: aborts
/// abandoned multipart uploads (so their parts do not pile up on disk) and
/// deletes expired objects.
///
/// Runs one pass at start, then one every ``interval``, until a graceful
/// shutdown. A failed pass is logged and retried at the next interval.
///
/// ```swift
/// let group = ServiceGroup(services: [app, LifecycleService(engine: engine, logger: logger)], logger: logger)
/// ```
public struct LifecycleService: Service {
    let engine: StorageEngine
    /// The time between passes.
    public let interval: Duration
    let clock: @Sendable () -> Date
    let logger: Logger

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - engine: The store whose buckets' rules are applied.
    ///   - interval: The time between passes (default one hour).
    ///   - clock: The time rules are measured against.
    ///   - logger: Where passes that removed something, and failures, are logged.
    public init(engine: StorageEngine, interval: Duration = .seconds(3600),
                clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger) {
        self.engine = engine
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// Runs passes until a graceful shutdown (or cancellation) ends the wait between two of them.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await runOnce()
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }

    /// One pass over every bucket's rules (the engine keeps its blocking work off the cooperative pool).
    func runOnce() async {
        let engine = engine, now = clock()
        do {
            let report = try await engine.applyLifecycle(now: now)
            if report.abortedUploads > 0 || report.expiredObjects > 0 {
                logger.info("lifecycle pass", metadata: ["lifecycle.aborted_uploads": "\(report.abortedUploads)",
                                                        "lifecycle.expired_objects": "\(report.expiredObjects)"])
            }
        } catch {
            logger.error("lifecycle pass failed", metadata: ["error": "\(error)"])
        }
    }
}
