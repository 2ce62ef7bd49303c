import Foundation
import Logging
import ObjectStoreEngine
import ServiceLifecycle
import SigV4
import Synchronization

/// Delivers S3 server access logs: keeps the records of requests to buckets with logging on
/// (``BucketLogging``) in memory, one batch per target bucket and prefix, and writes each batch
/// as a log object `<TargetPrefix>YYYY-mm-DD-HH-MM-SS-<16 hex>` (`text/plain`) into its target
/// bucket, every ``Configuration-swift.struct/interval``, sooner when a batch is full, and once
/// more at a graceful shutdown.
///
/// Log objects are written through the engine, not through the S3 API, so delivering logs is
/// never logged itself (event notifications of the target bucket do fire, as on S3). Memory is
/// bounded: past ``Configuration-swift.struct/maximumBufferedBytes`` records are dropped,
/// counted and reported as a warning. A batch whose target bucket is gone is dropped with a warning.
///
/// ```swift
/// let accessLog = AccessLogService(engine: engine, logger: logger)
/// let responder = S3Responder(engine: engine, credentials: [credentials], accessLog: accessLog)
/// // run `accessLog` as a service next to the server
/// ```
public final class AccessLogService: Service, Sendable {
    /// How often and how much the service delivers.
    public struct Configuration: Sendable {
        /// The time between deliveries (S3 delivers within a few hours; `hoist store` every minute).
        public var interval: Duration
        /// A batch of at least this many bytes is delivered without waiting for the interval.
        public var maximumBatchBytes: Int
        /// A batch of at least this many records is delivered without waiting for the interval.
        public var maximumBatchRecords: Int
        /// The most bytes of records held; records past it are dropped and counted.
        public var maximumBufferedBytes: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - interval: The time between deliveries (default 60 s).
        ///   - maximumBatchBytes: Delivers a batch early at this size (default 1 MiB).
        ///   - maximumBatchRecords: Delivers a batch early at this count (default 10,000).
        ///   - maximumBufferedBytes: The memory bound of all batches (default 64 MiB).
        public init(interval: Duration = .seconds(60), maximumBatchBytes: Int = 1 << 20, maximumBatchRecords: Int = 10_000,
                    maximumBufferedBytes: Int = 64 << 20) {
            self.interval = interval
            self.maximumBatchBytes = maximumBatchBytes
            self.maximumBatchRecords = maximumBatchRecords
            self.maximumBufferedBytes = maximumBufferedBytes
        }
    }

    /// Where a batch goes.
    struct Destination: Hashable, Sendable {
        var bucket: String
        var prefix: String
    }

    /// Records waiting for delivery to one destination.
    struct Batch: Sendable {
        var bytes: [UInt8] = []
        var records = 0
    }

    struct State {
        var batches: [Destination: Batch] = [:]
        var bufferedBytes = 0
        var dropped = 0
        /// Buckets' logging configurations as last read (`.some(nil)`: logging off).
        var targets: [String: BucketLogging?] = [:]
        /// Bumped whenever a cached configuration is forgotten, so a read that raced with the
        /// change does not cache the old value.
        var generation = 0
    }

    let engine: StorageEngine
    /// The delivery settings.
    public let configuration: Configuration
    let clock: @Sendable () -> Date
    let logger: Logger
    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// Creates the service.
    ///
    /// - Parameters:
    ///   - engine: The store whose buckets are logged, and where log objects are written.
    ///   - configuration: How often and how much to deliver.
    ///   - clock: The time of log object names.
    ///   - logger: Where failed deliveries and dropped records are reported.
    public init(engine: StorageEngine, configuration: Configuration = .init(), clock: @escaping @Sendable () -> Date = { Date() },
                logger: Logger) {
        self.engine = engine
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Delivers every interval (or when a batch fills) until a graceful shutdown, then delivers
    /// what is left. Call once.
    public func run() async {
        let wake = wake, wakeups = wakeups, interval = configuration.interval
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    wake.yield()
                }
            }
            // The HTTP server stops first (it is the application's last service), so once the
            // shutdown reaches here no request is left to record.
            await withGracefulShutdownHandler {
                for await _ in wakeups { await flush() }
            } onGracefulShutdown: {
                wake.finish()
            }
            group.cancelAll()
        }
        await flush()
    }

    // MARK: Recording

    /// Adds a record to its destination's batch (or drops it when the buffer is full).
    func record(_ record: AccessLogRecord, to logging: BucketLogging) {
        let line = Array(record.line.utf8)
        let destination = Destination(bucket: logging.targetBucket, prefix: logging.targetPrefix)
        let (full, firstDrop) = state.withLock { state -> (Bool, Bool) in
            guard state.bufferedBytes + line.count <= configuration.maximumBufferedBytes else {
                state.dropped += 1
                return (false, state.dropped == 1)
            }
            state.bufferedBytes += line.count
            var batch = state.batches.removeValue(forKey: destination) ?? Batch()
            batch.bytes += line
            batch.records += 1
            let full = batch.bytes.count >= configuration.maximumBatchBytes || batch.records >= configuration.maximumBatchRecords
            state.batches[destination] = batch
            return (full, false)
        }
        if firstDrop {
            logger.warning("access log buffer full: dropping records until the next delivery",
                           metadata: ["access_log.buffered_bytes": "\(configuration.maximumBufferedBytes)"])
        }
        if full { wake.yield() }
    }

    /// The logging configuration of `bucket` (`nil`: off, or no such bucket), cached after the first read.
    func logging(for bucket: String) async -> BucketLogging? {
        let (cached, generation) = state.withLock { ($0.targets[bucket], $0.generation) }
        if let cached { return cached }
        let data: Data?
        do {
            data = try await engine.bucketConfiguration(bucket, name: BucketLogging.configurationName)
        } catch {
            return nil  // no such bucket: nothing to cache
        }
        let logging = data.flatMap { try? JSONDecoder().decode(BucketLogging.self, from: $0) }
        state.withLock { state in
            if state.generation == generation { state.targets[bucket] = .some(logging) }
        }
        return logging
    }

    /// Forgets the cached configuration of `bucket` (after its logging changed, or it was created or deleted).
    func forget(_ bucket: String) {
        state.withLock { state in
            state.targets[bucket] = nil
            state.generation += 1
        }
    }

    // MARK: Delivery

    /// Delivers every batch now, each as one log object; failures are logged and the batch dropped.
    public func flush() async {
        let (batches, dropped) = state.withLock { state in
            let taken = (state.batches, state.dropped)
            state.batches = [:]
            state.bufferedBytes = 0
            state.dropped = 0
            return taken
        }
        if dropped > 0 {
            logger.warning("access log records dropped: the buffer was full", metadata: ["access_log.dropped": "\(dropped)"])
        }
        for (destination, batch) in batches.sorted(by: { ($0.key.bucket, $0.key.prefix) < ($1.key.bucket, $1.key.prefix) }) {
            await deliver(batch, to: destination)
        }
    }

    /// Writes one batch as a log object.
    func deliver(_ batch: Batch, to destination: Destination) async {
        let key = Self.objectKey(prefix: destination.prefix, date: clock())
        do {
            let sink = try await engine.beginUpload(bucket: destination.bucket)
            do {
                try await sink.write(batch.bytes)
            } catch {
                await engine.abort(sink)
                throw error
            }
            _ = try await engine.commit(sink, bucket: destination.bucket, key: key, metadata: ObjectMetadata(contentType: "text/plain"))
        } catch {
            logger.warning("access log delivery failed; its records are dropped",
                           metadata: ["access_log.bucket": "\(destination.bucket)", "access_log.records": "\(batch.records)",
                                      "error": "\(error)"])
        }
    }

    /// `<prefix>YYYY-mm-DD-HH-MM-SS-<16 uppercase hex>`, S3's log object name.
    static func objectKey(prefix: String, date: Date) -> String {
        let f = AMZDate(date).fields
        let pad = AccessLogRecord.pad
        return "\(prefix)\(f.year)-\(pad(f.month))-\(pad(f.day))-\(pad(f.hour))-\(pad(f.minute))-\(pad(f.second))-\(S3Responder.makeRequestId())"
    }
}
