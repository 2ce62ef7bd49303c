import Events
import Foundation
import Logging
import _NIOFileSystem
import Uploads

/// Takes storage events from a queue and brings each upload to its end state:
/// `pending → uploaded → verified → processed`, or `rejected` with a reason,
/// the object copied under `quarantine/` and its key left holding an empty marker.
///
/// Idempotent: the record remembers the sequencer of the last event applied,
/// so a repeated event changes nothing, an older one is ignored, and a
/// redelivery after a crash redoes only what did not finish (derived images
/// are written to fixed keys, so writing them again replaces them).
public struct ImageWorker: Sendable {
    /// Settings.
    public struct Configuration: Sendable {
        /// Images with more pixels are refused (decompression bombs).
        public var maximumPixels: Int = 50_000_000
        /// Messages taken per receive, and processed at once.
        public var concurrency: Int = 8
        /// How long a received message stays hidden while it is processed.
        public var visibilityTimeout: Int = 60
        /// How often a running job's lease is extended; `nil`: every half visibility timeout.
        public var heartbeatInterval: Duration?
        /// The longest wait of one receive.
        public var receiveWait: Duration = .seconds(2)
        /// Where the rejected objects go: `<prefix><key>`.
        public var quarantinePrefix: String = "quarantine/"
        /// The responsive variants made of each image (widths × formats).
        public var variants: VariantPlan = .standard

        public init() {}
    }

    let queue: any EventQueue
    let objects: any ObjectAccess
    let records: any UploadRecordStore
    let thumbnailer: Thumbnailer?
    let configuration: Configuration
    let metrics: WorkerMetrics
    let logger: Logger
    let clock: @Sendable () -> Date

    public init(queue: any EventQueue, objects: any ObjectAccess, records: any UploadRecordStore, thumbnailer: Thumbnailer?,
                configuration: Configuration = .init(), metrics: WorkerMetrics = WorkerMetrics(), logger: Logger,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.queue = queue
        self.objects = objects
        self.records = records
        self.thumbnailer = thumbnailer
        self.configuration = configuration
        self.metrics = metrics
        self.logger = logger
        self.clock = clock
    }

    // MARK: The loop

    /// Receives and handles messages until the task is cancelled.
    public func run() async {
        if let thumbnailer {
            logger.info("derived images are made with \(thumbnailer.engine)")
        } else {
            logger.notice("libvips is not installed (libvips42 or libvips-tools): uploads are verified, but no thumbnails or web-sized copies are made")
        }
        var failedReceives = 0
        while !Task.isCancelled {
            do {
                let messages = try await queue.receive(maxMessages: min(10, configuration.concurrency), wait: configuration.receiveWait,
                                                       visibilityTimeout: configuration.visibilityTimeout)
                failedReceives = 0
                await withTaskGroup(of: Void.self) { group in
                    for message in messages {
                        group.addTask { await self.handle(message) }
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                failedReceives += 1
                metrics.failures.increment()
                logger.error("receiving from the queue failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(min(30, 1 << min(failedReceives, 5))))
            }
        }
    }

    /// Handles one message: deletes it when done; on failure makes it visible again after a backoff.
    /// While it runs, its lease is extended every half visibility timeout (a heartbeat), so a long
    /// job (a 50-megapixel photo) is not delivered to another worker meanwhile.
    public func handle(_ message: QueueMessage) async {
        let heartbeat = Task { await keepLeased(message) }
        defer { heartbeat.cancel() }
        do {
            try await process(message.body)
            heartbeat.cancel()
            try await queue.delete(message)
        } catch {
            heartbeat.cancel()
            metrics.failures.increment()
            let backoff = Self.backoff(receiveCount: message.receiveCount)
            logger.warning("processing an event failed; it will be retried", metadata: [
                "message": "\(message.id)", "receiveCount": "\(message.receiveCount)", "retryIn": "\(backoff)s", "error": "\(error)",
            ])
            try? await queue.changeVisibility(message, timeout: backoff)
        }
    }

    /// Extends `message`'s lease to a full visibility timeout every `heartbeatInterval` (by default
    /// half a timeout), until cancelled.
    func keepLeased(_ message: QueueMessage) async {
        let timeout = configuration.visibilityTimeout
        let interval = configuration.heartbeatInterval ?? .milliseconds(max(500, timeout * 500))
        while true {
            do { try await Task.sleep(for: interval) } catch { return }
            do {
                try await queue.changeVisibility(message, timeout: timeout)
            } catch {
                logger.warning("extending an event's lease failed", metadata: ["message": "\(message.id)", "error": "\(error)"])
            }
        }
    }

    /// Seconds before the next try: 1, 2, 4, … up to 5 minutes.
    static func backoff(receiveCount: Int) -> Int {
        min(300, 1 << min(max(receiveCount - 1, 0), 9))
    }

    /// The error of a message that is not an S3 event notification: retried, then dead-lettered.
    public struct UnreadableMessage: Error, CustomStringConvertible {
        public var description: String
    }

    /// Applies every record of one message body.
    public func process(_ body: String) async throws {
        if S3EventNotification.isTestEvent(body) { return }
        guard let notification = S3EventNotification.decode(body) else {
            throw UnreadableMessage(description: "The message is not an S3 event notification: \(body.prefix(200))")
        }
        for record in notification.records {
            try await apply(record)
        }
    }

    // MARK: One event

    /// What became of an event, for tests and logs.
    public enum Outcome: Sendable, Equatable {
        case ignored(String)
        case processed
        case rejected(String)
    }

    /// Brings the upload an event names to its end state.
    @discardableResult
    public func apply(_ event: S3EventNotification.Record) async throws -> Outcome {
        guard event.eventName.hasPrefix("ObjectCreated:") else { return .ignored("not a creation") }
        metrics.objectsSeen.increment()
        guard let key = event.s3.object.decodedKey else { return .ignored("malformed key") }
        guard UploadKey(key) != nil else { return .ignored("not an upload key") }
        // The worker's own write: the empty marker a rejected key keeps (see `reject`).
        // In a versioned bucket the event names the version that was uploaded: the worker reads
        // exactly that one, so a later overwrite cannot change this upload's verdict.
        let version = event.s3.object.versionId.flatMap { $0.isEmpty || $0 == "null" ? nil : $0 }
        if event.s3.object.size == 0, try await isRejectionMarker(key, version: version) { return .ignored("the rejection marker") }
        guard var record = try await records.upload(key: key) else {
            logger.info("an object was created with no upload record; left alone", metadata: ["key": "\(key)"])
            return .ignored("no upload record")
        }
        let sequencer = event.s3.object.sequencer
        if let applied = record.sequencer {
            if S3EventNotification.sequencer(sequencer, isBefore: applied) { return .ignored("an older event") }
            if applied == sequencer, record.status == .processed || record.status == .rejected {
                return .ignored("already done")
            }
        }
        if record.status == .pending || record.status == .expired || record.sequencer != sequencer {
            record.status = .uploaded
            record.reason = nil
            record.sequencer = sequencer
            record.etag = event.s3.object.eTag
            record.uploadedAt = clock()
            try await records.update(record)
            metrics.timeToUploaded.recordInterval(from: record.issuedAt, to: record.uploadedAt ?? clock())
        }
        return try await verifyAndProcess(&record, key: key, version: version)
    }

    private func verifyAndProcess(_ record: inout UploadRecord, key: String, version: String?) async throws -> Outcome {
        guard let head = try await objects.head(key, version: version), !Self.isRejectionMarker(head) else {
            // Gone or replaced by the marker: moved to quarantine by an earlier try that did not
            // get to record it, or removed meanwhile.
            if try await objects.head(configuration.quarantinePrefix + key) != nil {
                return try await finishRejection(&record, reason: record.reason ?? "The file was rejected.")
            }
            return try await finishRejection(&record, reason: "The object was removed before it could be checked.")
        }
        if let declared = record.size, declared != head.size {
            return try await reject(&record, key: key, version: version, reason: "The stored file has \(head.size) bytes, not the \(declared) declared.")
        }
        if let declared = record.checksumSHA256, let stored = head.checksumSHA256, declared != stored {
            return try await reject(&record, key: key, version: version, reason: "The stored file's SHA-256 differs from the one declared.")
        }
        guard let declaredFormat = ImageHeader.Format(contentType: record.contentType) else {
            return try await reject(&record, key: key, version: version, reason: "The declared type \(record.contentType) cannot be verified.")
        }
        let header: ImageHeader
        switch try await inspect(key, version: version) {
        case .image(let found):
            header = found
        case .needMoreBytes(let format):
            return try await reject(&record, key: key, version: version, reason: "A \(format.rawValue) file whose size is not in its first 16 MiB.")
        case .notAnImage(let what):
            return try await reject(&record, key: key, version: version, reason: "Declared as \(record.contentType), but the file is \(what).")
        }
        guard header.format == declaredFormat else {
            return try await reject(&record, key: key, version: version,
                                    reason: "Declared as \(record.contentType), but the file is a \(header.format.rawValue.uppercased()) image.")
        }
        let pixels = header.width.multipliedReportingOverflow(by: header.height)
        guard !pixels.overflow, pixels.partialValue <= configuration.maximumPixels else {
            return try await reject(&record, key: key, version: version,
                                    reason: "\(header.width)×\(header.height) pixels is over the limit of \(configuration.maximumPixels).")
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-worker-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let original = "\(directory)/original"
        var downloaded = false
        // An animation decodes to every frame: the limit counts them all (the variants show the first).
        if header.format == .gif || header.format == .webp {
            try await objects.download(key, version: version, to: original)
            downloaded = true
            let frames = try await Self.countFrames(original, format: header.format)
            let total = pixels.partialValue.multipliedReportingOverflow(by: frames)
            if frames > 1, total.overflow || total.partialValue > configuration.maximumPixels {
                return try await reject(&record, key: key, version: version, reason: """
                    \(frames) frames of \(header.width)×\(header.height) pixels is over the limit of \(configuration.maximumPixels) pixels.
                    """)
            }
        }
        if record.status != .verified {
            record.status = .verified
            // The size as shown: a phone photo stored 4032×3024 with orientation 6 is 3024×4032.
            record.width = header.displayWidth
            record.height = header.displayHeight
            try await records.update(record)
        }
        var derived: [String: String] = [:]
        var variants: [ImageVariant] = []
        var placeholder: String?
        if let thumbnailer, let upload = UploadKey(key) {
            if !downloaded { try await objects.download(key, version: version, to: original) }
            let made: Thumbnailer.Made
            do {
                made = try await thumbnailer.makeVariants(of: original, in: directory, plan: configuration.variants,
                                                          displayWidth: header.displayWidth, toSRGB: header.hasColourProfile)
            } catch let failure as Thumbnailer.Failure {
                return try await reject(&record, key: key, version: version, reason: "The image could not be decoded: \(failure.description)")
            }
            for output in made.variants {
                // Keys name the planned width (fixed, so a redelivery overwrites); the record has the real size.
                let variantKey = upload.processedPrefix + "w\(output.plannedWidth)." + output.format.fileExtension
                try await objects.put(variantKey, file: output.path, contentType: output.format.contentType)
                variants.append(ImageVariant(width: output.width, height: output.height, format: output.format, key: variantKey))
            }
            let preferred = variants.filter { $0.format == configuration.variants.preferredFormat }
            if let smallest = preferred.first, let largest = preferred.last {
                derived = ["thumbnail": smallest.key, "web": largest.key]
            }
            placeholder = made.placeholder
        }
        record.derived = derived
        record.variants = variants
        record.placeholder = placeholder
        // The variants carry no metadata: the original's position stays in the original alone.
        record.locationRemoved = header.hasLocation && !variants.isEmpty
        record.status = .processed
        record.processedAt = clock()
        try await records.update(record)
        metrics.succeeded.increment()
        metrics.timeToProcessed.recordInterval(from: record.issuedAt, to: record.processedAt ?? clock())
        logger.info("upload processed", metadata: ["key": "\(key)", "size": "\(header.width)x\(header.height)"])
        return .processed
    }

    /// The frames of the GIF or WebP file at `path`, counted as it is read (``AnimationFrames``),
    /// through NIO's file system, off the cooperative pool.
    static func countFrames(_ path: String, format: ImageHeader.Format) async throws -> Int {
        try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { file in
            var counter = AnimationFrames(format: format)
            for try await chunk in file.readChunks() {
                counter.feed(chunk.readableBytesView)
                if counter.finished { break }
            }
            return counter.frames
        }
    }

    /// The first bytes' verdict, reading more while the format's header lies further on.
    private func inspect(_ key: String, version: String?) async throws -> ImageHeader.Inspection {
        var verdict = ImageHeader.Inspection.notAnImage("an empty file")
        for count in [64 << 10, 1 << 20, 16 << 20] {
            let bytes = try await objects.read(key, version: version, first: count)
            verdict = ImageHeader.inspect(bytes, complete: bytes.count < count)
            guard case .needMoreBytes = verdict, bytes.count == count else { return verdict }
        }
        return verdict
    }

    /// The content type of the empty object a rejected upload's key keeps.
    public static let rejectionMarkerType = "application/x-hoist-rejected"

    /// Moves the object to quarantine and records why.
    ///
    /// The key is not left empty: an empty marker object replaces the file. Upload URLs
    /// bind `If-None-Match: *`, so while the marker is there a URL still within its
    /// lifetime cannot write the key again (an empty key would accept a second upload).
    /// In a versioned bucket the rejected version is then deleted for good, so its bytes are
    /// not left readable as a noncurrent version outside `quarantine/`.
    private func reject(_ record: inout UploadRecord, key: String, version: String?, reason: String) async throws -> Outcome {
        try await objects.copy(key, version: version, to: configuration.quarantinePrefix + key)
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-marker-\(UUID().uuidString)").path
        guard FileManager.default.createFile(atPath: empty, contents: Data()) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: empty])
        }
        defer { try? FileManager.default.removeItem(atPath: empty) }
        try await objects.put(key, file: empty, contentType: Self.rejectionMarkerType)
        if let version { try await objects.delete(key, version: version) }
        return try await finishRejection(&record, reason: reason)
    }

    static func isRejectionMarker(_ head: ObjectHead) -> Bool {
        head.size == 0 && head.contentType == rejectionMarkerType
    }

    private func isRejectionMarker(_ key: String, version: String?) async throws -> Bool {
        guard let head = try await objects.head(key, version: version) else { return false }
        return Self.isRejectionMarker(head)
    }

    private func finishRejection(_ record: inout UploadRecord, reason: String) async throws -> Outcome {
        record.status = .rejected
        record.reason = reason
        record.processedAt = clock()
        try await records.update(record)
        metrics.failed.increment()
        logger.notice("upload rejected", metadata: ["key": "\(record.key)", "reason": "\(reason)"])
        return .rejected(reason)
    }
}
