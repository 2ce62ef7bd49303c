import Foundation
import Metrics

/// What the worker reports on `/metrics`, through the swift-metrics facade.
public final class WorkerMetrics: Sendable {
    /// Uploads that reached `processed`.
    let succeeded: Counter
    /// Uploads that were `rejected`.
    let failed: Counter
    /// Object-created events seen.
    let objectsSeen: Counter
    /// Messages whose processing failed (retried later), and failed receives.
    let failures: Counter
    /// Pending records marked `expired`.
    let expired: Counter
    /// From URL issue to `uploaded`, and to `processed`.
    let timeToUploaded: Timer
    let timeToProcessed: Timer
    /// Messages in the queue, and the age of the oldest.
    let queueDepth: Gauge
    let oldestEventAge: Gauge

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        succeeded = Counter(label: "hoist_uploads_total", dimensions: [("outcome", "processed")], factory: factory)
        failed = Counter(label: "hoist_uploads_total", dimensions: [("outcome", "rejected")], factory: factory)
        objectsSeen = Counter(label: "hoist_object_puts_seen_total", dimensions: [], factory: factory)
        failures = Counter(label: "hoist_worker_failures_total", dimensions: [], factory: factory)
        expired = Counter(label: "hoist_uploads_expired_total", dimensions: [], factory: factory)
        timeToUploaded = Timer(label: "hoist_upload_to_uploaded_seconds", dimensions: [], factory: factory)
        timeToProcessed = Timer(label: "hoist_upload_to_processed_seconds", dimensions: [], factory: factory)
        queueDepth = Gauge(label: "hoist_queue_depth", dimensions: [], factory: factory)
        oldestEventAge = Gauge(label: "hoist_queue_oldest_event_age_seconds", dimensions: [], factory: factory)
    }
}

extension Timer {
    /// Records the time between two dates (nothing when `end` is before `start`).
    func recordInterval(from start: Date, to end: Date) {
        let seconds = end.timeIntervalSince(start)
        guard seconds.isFinite, seconds >= 0 else { return }
        recordNanoseconds(Int64(min(seconds, 1e9) * 1e9))
    }
}
