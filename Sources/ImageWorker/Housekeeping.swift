import Events
import Foundation
import Logging
import Uploads

/// The worker's periodic chores: queue depth and age on `/metrics`, and
/// `pending` records whose URL expired (plus a grace period) marked `expired`.
public struct Housekeeping: Sendable {
    let queue: any EventQueue
    let records: any UploadRecordStore
    let metrics: WorkerMetrics
    let logger: Logger
    /// How long after its URL expired a pending record becomes `expired`
    /// (an upload that started just before the expiry may still be arriving).
    let grace: TimeInterval
    let interval: Duration
    let clock: @Sendable () -> Date

    public init(queue: any EventQueue, records: any UploadRecordStore, metrics: WorkerMetrics, logger: Logger,
                grace: TimeInterval = 300, interval: Duration = .seconds(5), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.queue = queue
        self.records = records
        self.metrics = metrics
        self.logger = logger
        self.grace = grace
        self.interval = interval
        self.clock = clock
    }

    /// Runs the chores every `interval` until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            await once()
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// One round of chores.
    public func once() async {
        do {
            let statistics = try await queue.statistics()
            metrics.queueDepth.record(statistics.depth)
            metrics.oldestEventAge.record(statistics.oldestAge ?? 0)
        } catch {
            logger.warning("could not read the queue's statistics", metadata: ["error": "\(error)"])
        }
        do {
            let changed = try await records.expirePending(before: clock().addingTimeInterval(-grace))
            if changed > 0 {
                metrics.expired.increment(by: changed)
                logger.info("upload intents expired", metadata: ["count": "\(changed)"])
            }
        } catch {
            logger.warning("could not expire pending uploads", metadata: ["error": "\(error)"])
        }
    }
}
