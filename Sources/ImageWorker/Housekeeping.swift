import Events
import Foundation
import Logging
import Uploads

/// The worker's periodic chores: queue depth and age on `/metrics`, and
/// `pending` records whose URL expired (plus a grace period) marked `expired`, and multipart
/// uploads that expired (plus the same grace) aborted on storage, so their parts are freed.
public struct Housekeeping: Sendable {
    let queue: any EventQueue
    let records: any UploadRecordStore
    /// Where expired multipart uploads are aborted; `nil` leaves them (storage's lifecycle rules may).
    let objects: (any ObjectAccess)?
    let metrics: WorkerMetrics
    let logger: Logger
    /// How long after its URL expired a pending record becomes `expired`
    /// (an upload that started just before the expiry may still be arriving).
    let grace: TimeInterval
    let interval: Duration
    let clock: @Sendable () -> Date

    public init(queue: any EventQueue, records: any UploadRecordStore, objects: (any ObjectAccess)? = nil,
                metrics: WorkerMetrics, logger: Logger, grace: TimeInterval = 300, interval: Duration = .seconds(5), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.queue = queue
        self.records = records
        self.objects = objects
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
        await abortExpiredMultipartUploads()
    }

    /// Aborts on storage, then in the records, the multipart uploads that expired more than
    /// `grace` ago (a part URL issued just before the expiry may still be in use).
    func abortExpiredMultipartUploads() async {
        guard let objects else { return }
        let now = clock()
        let expired: [MultipartUploadRecord]
        do {
            expired = try await records.expiredMultipartUploads(before: now.addingTimeInterval(-grace), limit: 100)
        } catch {
            logger.warning("could not read expired multipart uploads", metadata: ["error": "\(error)"])
            return
        }
        for upload in expired {
            do {
                try await objects.abortMultipartUpload(upload.key, uploadId: upload.uploadId)
                _ = try await records.finishMultipart(id: upload.uploadId, status: .aborted, etag: nil, at: now)
                logger.info("expired multipart upload aborted", metadata: ["upload.key": "\(upload.key)"])
            } catch {
                logger.warning("could not abort an expired multipart upload", metadata: ["upload.key": "\(upload.key)", "error": "\(error)"])
            }
        }
    }
}
