import Events
import Foundation
@testable import HoistServer
@testable import ImageWorker
import Logging
import ObjectStoreEngine
import Synchronization
import Testing
import Uploads

/// The worker over the real embedded store (its outbox and objects) and the real record store.
@Suite("Image worker on the embedded store")
struct ImageWorkerOnStoreTests {
    struct Setup {
        let directory: URL
        let engine: StorageEngine
        let records: SQLiteUploadRecordStore
        let queue: OutboxQueue
        let worker: ImageWorker
        let articleId = UUID().uuidString.lowercased()

        init(maximumPixels: Int = 50_000_000, maxReceiveCount: Int = 3, thumbnailer: Thumbnailer? = nil) async throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-worker-test-\(UUID().uuidString)")
            engine = try StorageEngine(directory: directory.appendingPathComponent("store"))
            try await engine.createBucket("images")
            var configuration = HoistConfiguration()
            configuration.bucket = "images"
            try await HoistServer.prepareNotifications(configuration, engine: engine)
            records = try SQLiteUploadRecordStore(path: directory.appendingPathComponent("uploads.sqlite").path)
            queue = engine.outbox(queue: HoistConfiguration.eventQueueName, maxReceiveCount: maxReceiveCount)
            var settings = ImageWorker.Configuration()
            settings.maximumPixels = maximumPixels
            settings.receiveWait = .milliseconds(200)
            worker = ImageWorker(queue: queue, objects: EngineObjectAccess(engine: engine, bucket: "images"), records: records,
                                 thumbnailer: thumbnailer, configuration: settings, logger: Logger(label: "test"))
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }

        /// Issues a record, then stores `bytes` at its key as a PUT would: the event lands in the outbox.
        @discardableResult
        func upload(_ bytes: [UInt8], declared type: String, declaredSize: Int64? = nil, ext: String = "img") async throws -> String {
            let key = "articles/\(articleId)/raw/\(UUID().uuidString.lowercased()).\(ext)"
            let now = Date()
            let record = UploadRecord(key: key, articleId: articleId, owner: "alice", contentType: type,
                                      size: declaredSize ?? Int64(bytes.count), checksumSHA256: nil, issuedAt: now,
                                      expiresAt: now.addingTimeInterval(900), status: .pending)
            #expect(try await records.record(record))
            let sink = try await engine.beginUpload(bucket: "images")
            try await sink.write(bytes)
            _ = try await engine.commit(sink, bucket: "images", key: key, metadata: ObjectMetadata(contentType: type))
            return key
        }

        /// The next event about `key` from the outbox (others are deleted on the way).
        func event(for key: String) async throws -> (QueueMessage, S3EventNotification.Record) {
            while true {
                // A long lease: an event taken here does not come back while a slow (loaded) test still runs.
                let messages = try await queue.receive(maxMessages: 10, wait: .seconds(2), visibilityTimeout: 600)
                try #require(!messages.isEmpty, "no event for \(key)")
                for message in messages {
                    if let record = S3EventNotification.decode(message.body)?.records.first, record.s3.object.decodedKey == key {
                        return (message, record)
                    }
                    try await queue.delete(message)
                }
            }
        }

        func exists(_ key: String) async -> Bool {
            (try? await engine.head(bucket: "images", key: key)) != nil
        }

        /// A rejected key holds the empty marker: a second upload with `If-None-Match: *` (what every
        /// upload URL binds) is refused, and the marker's own event changes nothing.
        func expectMarker(at key: String, reason: String) async throws {
            let marker = try await engine.head(bucket: "images", key: key)
            #expect(marker.size == 0 && marker.metadata.contentType == ImageWorker.rejectionMarkerType)
            let sink = try await engine.beginUpload(bucket: "images")
            try await sink.write(Array("second upload".utf8))
            await #expect(throws: StoreError.self) {
                try await engine.commit(sink, bucket: "images", key: key, metadata: ObjectMetadata(contentType: "image/jpeg"),
                                  condition: .ifNoneMatchAny)
            }
            let (_, markerEvent) = try await event(for: key)
            #expect(markerEvent.s3.object.size == 0)
            #expect(try await worker.apply(markerEvent) == .ignored("the rejection marker"))
            let record = try await records.upload(key: key)
            #expect(record?.status == .rejected && record?.reason == reason)
        }
    }

    @Test("a real image is verified and processed; the same event again changes nothing")
    func processedOnce() async throws {
        let setup = try await Setup()
        defer { setup.remove() }
        let key = try await setup.upload(Samples.png(width: 800, height: 600), declared: "image/png", ext: "png")
        let (_, event) = try await setup.event(for: key)
        #expect(try await setup.worker.apply(event) == .processed)
        let first = try #require(try await setup.records.upload(key: key))
        #expect(first.status == .processed)
        #expect(first.width == 800 && first.height == 600)
        #expect(first.sequencer == event.s3.object.sequencer)
        #expect(first.etag == event.s3.object.eTag)
        #expect(try await setup.worker.apply(event) == .ignored("already done"))
        #expect(try await setup.records.upload(key: key) == first)
    }

    @Test("versioned bucket: each event's version is judged; a rejected version is deleted, its bytes kept only in quarantine")
    func versionedBucket() async throws {
        let setup = try await Setup()
        defer { setup.remove() }
        try await setup.engine.setVersioning("images", .enabled)
        // A real PNG, then text over it before the worker gets to the PNG's event.
        let key = try await setup.upload(Samples.png(width: 40, height: 30), declared: "image/png", ext: "png")
        let (_, pngEvent) = try await setup.event(for: key)
        #expect(pngEvent.s3.object.versionId != nil)
        let sink = try await setup.engine.beginUpload(bucket: "images")
        try await sink.write(Array("overwritten with text".utf8))
        _ = try await setup.engine.commit(sink, bucket: "images", key: key, metadata: ObjectMetadata(contentType: "image/png"))
        #expect(try await setup.worker.apply(pngEvent) == .processed)
        let processed = try await setup.records.upload(key: key)
        #expect(processed?.width == 40 && processed?.height == 30)

        let bad = try await setup.upload(Array("not an image at all".utf8), declared: "image/jpeg", ext: "jpg")
        let (_, badEvent) = try await setup.event(for: bad)
        let badVersion = try #require(badEvent.s3.object.versionId)
        guard case .rejected = try await setup.worker.apply(badEvent) else {
            Issue.record("text declared as JPEG was not rejected")
            return
        }
        // The rejected bytes are not readable as a noncurrent version of the key any more.
        let gone = await #expect(throws: StoreError.self) {
            _ = try await setup.engine.head(bucket: "images", key: bad, versionId: badVersion)
        }
        #expect(gone?.code == .noSuchVersion)
        let (_, reader) = try await setup.engine.open(bucket: "images", key: "quarantine/" + bad)
        defer { reader.close() }
        #expect(try await reader.read(offset: 0, count: 100) == Array("not an image at all".utf8))
        let marker = try await setup.engine.head(bucket: "images", key: bad)
        #expect(marker.size == 0 && marker.metadata.contentType == ImageWorker.rejectionMarkerType)
        // The same event again (a redelivery): still rejected, nothing else changes.
        #expect(try await setup.worker.apply(badEvent) == .ignored("already done"))
    }

    /// The worker's objects, each read slowed down: a job that outlasts the visibility timeout.
    struct SlowObjects: ObjectAccess {
        let inner: EngineObjectAccess
        let delay: Duration
        func head(_ key: String, version: String?) async throws -> ObjectHead? { try await inner.head(key, version: version) }
        func read(_ key: String, version: String?, first count: Int) async throws -> [UInt8] {
            try await Task.sleep(for: delay)
            return try await inner.read(key, version: version, first: count)
        }
        func download(_ key: String, version: String?, to path: String) async throws { try await inner.download(key, version: version, to: path) }
        func put(_ key: String, file path: String, contentType: String) async throws { try await inner.put(key, file: path, contentType: contentType) }
        func copy(_ source: String, version: String?, to destination: String) async throws { try await inner.copy(source, version: version, to: destination) }
        func delete(_ key: String, version: String?) async throws { try await inner.delete(key, version: version) }
        func abortMultipartUpload(_ key: String, uploadId: String) async throws { try await inner.abortMultipartUpload(key, uploadId: uploadId) }
    }

    /// The queue, counting lease extensions.
    final class CountingQueue: EventQueue {
        let inner: OutboxQueue
        let extensions = Mutex(0)
        init(_ inner: OutboxQueue) { self.inner = inner }
        func receive(maxMessages: Int, wait: Duration, visibilityTimeout: Int) async throws -> [QueueMessage] {
            try await inner.receive(maxMessages: maxMessages, wait: wait, visibilityTimeout: visibilityTimeout)
        }
        func delete(_ message: QueueMessage) async throws { try await inner.delete(message) }
        func changeVisibility(_ message: QueueMessage, timeout: Int) async throws {
            extensions.withLock { $0 += 1 }
            try await inner.changeVisibility(message, timeout: timeout)
        }
        func statistics() async throws -> QueueStatistics { try await inner.statistics() }
    }

    @Test("a job longer than the visibility timeout keeps its lease (heartbeat): nobody else gets the event meanwhile")
    func heartbeat() async throws {
        let setup = try await Setup()
        defer { setup.remove() }
        let key = try await setup.upload(Samples.gif(width: 10, height: 10), declared: "image/gif", ext: "gif")
        let queue = CountingQueue(setup.queue)
        // An 8 s lease extended every second: a heartbeat may come up to 7 s late (a loaded machine,
        // the whole suite running in parallel) and still be in time.
        var settings = ImageWorker.Configuration()
        settings.visibilityTimeout = 8
        settings.heartbeatInterval = .seconds(1)
        let slow = ImageWorker(queue: queue, objects: SlowObjects(inner: EngineObjectAccess(engine: setup.engine, bucket: "images"),
                                                                  delay: .seconds(14)),
                               records: setup.records, thumbnailer: nil, configuration: settings, logger: Logger(label: "test"))
        var message: QueueMessage?
        while message == nil {
            let messages = try await setup.queue.receive(maxMessages: 10, wait: .seconds(2), visibilityTimeout: 8)
            try #require(!messages.isEmpty, "no event for \(key)")
            for candidate in messages {
                if S3EventNotification.decode(candidate.body)?.records.first?.s3.object.decodedKey == key { message = candidate }
                else { try await setup.queue.delete(candidate) }
            }
        }
        let taken = try #require(message)
        async let handled: Void = slow.handle(taken)
        // Well past the 8 s timeout the event stays hidden: the heartbeat extended it.
        try await Task.sleep(for: .seconds(12))
        let seen = try await setup.queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30)
        #expect(!seen.contains { $0.id == taken.id }, "the event was delivered again while its job ran")
        for other in seen where other.id != taken.id { try await setup.queue.delete(other) }
        await handled
        #expect(queue.extensions.withLock { $0 } >= 3)
        #expect(try await setup.records.upload(key: key)?.status == .processed)
        #expect(try await setup.queue.statistics().depth == 0, "done and deleted")
    }

    @Test("an older event than the one applied is ignored")
    func outOfOrder() async throws {
        let setup = try await Setup()
        defer { setup.remove() }
        let key = try await setup.upload(Samples.gif(width: 10, height: 10), declared: "image/gif", ext: "gif")
        let (_, event) = try await setup.event(for: key)
        var older = event
        older.s3.object.sequencer = String(repeating: "0", count: 16)
        #expect(try await setup.worker.apply(event) == .processed)
        #expect(try await setup.worker.apply(older) == .ignored("an older event"))
        #expect(try await setup.records.upload(key: key)?.status == .processed)
    }

    @Test("text declared as JPEG, a PNG declared as JPEG, a pixel bomb and a wrong size are rejected into quarantine")
    func rejections() async throws {
        let setup = try await Setup(maximumPixels: 10_000_000)
        defer { setup.remove() }
        let cases: [([UInt8], String, Int64?, String)] = [
            (Array("hello, not a picture\n".utf8), "image/jpeg", nil, "Declared as image/jpeg, but the file is text, not an image."),
            (Samples.png(width: 10, height: 10), "image/jpeg", nil, "Declared as image/jpeg, but the file is a PNG image."),
            (Samples.png(width: 40000, height: 40000), "image/png", nil, "40000×40000 pixels is over the limit of 10000000."),
            (Samples.gif(width: 5, height: 5), "image/gif", 999, "The stored file has 13 bytes, not the 999 declared."),
        ]
        for (bytes, type, declaredSize, reason) in cases {
            let key = try await setup.upload(bytes, declared: type, declaredSize: declaredSize)
            let (_, event) = try await setup.event(for: key)
            #expect(try await setup.worker.apply(event) == .rejected(reason))
            let record = try #require(try await setup.records.upload(key: key))
            #expect(record.status == .rejected)
            #expect(record.reason == reason)
            #expect(await setup.exists("quarantine/" + key), "not quarantined")
            #expect(try await setup.engine.head(bucket: "images", key: "quarantine/" + key).size == Int64(bytes.count))
            try await setup.expectMarker(at: key, reason: reason)
            // A redelivery after the move finds the quarantined copy and keeps the verdict.
            var again = event
            again.s3.object.sequencer = event.s3.object.sequencer
            #expect(try await setup.worker.apply(again) == .ignored("already done"))
        }
    }

    @Test("a rejection interrupted after the marker was written is finished by the redelivery, with the quarantined bytes kept")
    func rejectionResumes() async throws {
        let setup = try await Setup()
        defer { setup.remove() }
        let text = Array("plain text\n".utf8)
        let key = try await setup.upload(text, declared: "image/jpeg")
        let (_, event) = try await setup.event(for: key)
        // The state a crash after the copy and the marker leaves: the record still says pending.
        _ = try await setup.engine.copy(fromBucket: "images", fromKey: key, toBucket: "images", toKey: "quarantine/" + key, metadata: nil)
        let sink = try await setup.engine.beginUpload(bucket: "images")
        _ = try await setup.engine.commit(sink, bucket: "images", key: key,
                                    metadata: ObjectMetadata(contentType: ImageWorker.rejectionMarkerType))
        #expect(try await setup.worker.apply(event) == .rejected("The file was rejected."))
        #expect(try await setup.engine.head(bucket: "images", key: "quarantine/" + key).size == Int64(text.count))
        #expect(try await setup.records.upload(key: key)?.status == .rejected)
    }

    @Test("a redelivery after a crash between steps finishes the job")
    func resumesAfterCrash() async throws {
        let setup = try await Setup()
        defer { setup.remove() }
        let key = try await setup.upload(Samples.webpExtended(width: 300, height: 200), declared: "image/webp", ext: "webp")
        let (_, event) = try await setup.event(for: key)
        // As if a first worker verified the image, then died before finishing.
        var record = try #require(try await setup.records.upload(key: key))
        record.status = .verified
        record.sequencer = event.s3.object.sequencer
        record.width = 300
        record.height = 200
        try await setup.records.update(record)
        #expect(try await setup.worker.apply(event) == .processed)
        #expect(try await setup.records.upload(key: key)?.status == .processed)
    }

    @Test("the loop consumes the outbox; an unreadable message is retried, then dead-lettered")
    func loopAndDeadLetters() async throws {
        let setup = try await Setup(maxReceiveCount: 2)
        defer { setup.remove() }
        let key = try await setup.upload(Samples.jpeg(width: 64, height: 48), declared: "image/jpeg", ext: "jpg")
        let running = Task { await setup.worker.run() }
        defer { running.cancel() }
        var status: UploadStatus?
        for _ in 0..<100 where status != .processed {
            try await Task.sleep(for: .milliseconds(50))
            status = try await setup.records.upload(key: key)?.status
        }
        #expect(status == .processed)
        // Everything the loop took it deleted (the message goes after the record is written: wait for it).
        var depth = try await setup.queue.statistics().depth
        for _ in 0..<100 where depth != 0 {
            try await Task.sleep(for: .milliseconds(50))
            depth = try await setup.queue.statistics().depth
        }
        #expect(depth == 0)
        await #expect(throws: ImageWorker.UnreadableMessage.self) { try await setup.worker.process("{\"not\":\"an event\"}") }
        // Received, failed, retried after 1 s, failed again, then (third receive) dead-lettered.
        try await setup.queue.send("{\"not\":\"an event\"}")
        var dead: [QueueMessage] = []
        for _ in 0..<120 where dead.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            dead = try await setup.queue.deadLetters()
        }
        #expect(dead.map(\.body) == ["{\"not\":\"an event\"}"])
        #expect(dead.first?.receiveCount == 2)
        #expect(try await setup.queue.statistics().depth == 0)
    }

    @Test("with vipsthumbnail: derived images in the store; pixels that do not decode are rejected",
          .enabled(if: Thumbnailer.find() != nil || ProcessInfo.processInfo.environment["HOIST_REQUIRE_VIPS"] == "1",
                   "vipsthumbnail is not installed (libvips-tools)"))
    func thumbnails() async throws {
        let setup = try await Setup(thumbnailer: Thumbnailer.find())
        defer { setup.remove() }
        let good = try await setup.upload(TinyPNG.make(width: 500, height: 250), declared: "image/png", ext: "png")
        let (_, event) = try await setup.event(for: good)
        #expect(try await setup.worker.apply(event) == .processed)
        let record = try #require(try await setup.records.upload(key: good))
        let upload = try #require(UploadKey(good))
        // 500 pixels wide: 320 only (no enlarged 640), in WebP and AVIF; the old names point at the WebP.
        #expect(record.variants == [
            ImageVariant(width: 320, height: 160, format: .webp, key: upload.processedPrefix + "w320.webp"),
            ImageVariant(width: 320, height: 160, format: .avif, key: upload.processedPrefix + "w320.avif"),
        ])
        #expect(record.derived == ["thumbnail": upload.processedPrefix + "w320.webp", "web": upload.processedPrefix + "w320.webp"])
        #expect(record.placeholder?.hasPrefix("data:image/webp;base64,") == true && (record.placeholder?.utf8.count ?? 9999) < 1024)
        #expect(!record.locationRemoved)
        for variant in record.variants {
            let info = try await setup.engine.head(bucket: "images", key: variant.key)
            #expect(info.metadata.contentType == variant.format.contentType)
        }

        let broken = try await setup.upload(Samples.png(width: 64, height: 64), declared: "image/png", ext: "png")
        let (_, brokenEvent) = try await setup.event(for: broken)
        guard case .rejected(let reason) = try await setup.worker.apply(brokenEvent) else {
            Issue.record("an undecodable PNG was not rejected")
            return
        }
        #expect(reason.hasPrefix("The image could not be decoded"))
        #expect(await setup.exists("quarantine/" + broken))
        try await setup.expectMarker(at: broken, reason: reason)
    }

    @Test("with vipsthumbnail: a 2000×1500 JPEG with a GPS position gets four widths in two formats, and locationRemoved",
          .enabled(if: Thumbnailer.find() != nil || ProcessInfo.processInfo.environment["HOIST_REQUIRE_VIPS"] == "1",
                   "vipsthumbnail is not installed (libvips-tools)"))
    func responsiveVariants() async throws {
        let thumbnailer = try #require(Thumbnailer.find())
        let setup = try await Setup(thumbnailer: thumbnailer)
        defer { setup.remove() }
        let vips = try #require(thumbnailer.vips)
        let path = setup.directory.appendingPathComponent("plain.jpg").path
        _ = try await runTool(vips, ["xyz", path, "2000", "1500"])
        let plain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let photo = EXIFSamples.withEXIF(plain, EXIFSamples.tiff(orientation: nil, gps: true, littleEndian: true))
        let key = try await setup.upload(photo, declared: "image/jpeg", ext: "jpg")
        let (_, event) = try await setup.event(for: key)
        #expect(try await setup.worker.apply(event) == .processed)
        let record = try #require(try await setup.records.upload(key: key))
        #expect(record.locationRemoved)
        #expect(record.variants.map { "\($0.format.rawValue)\($0.width)x\($0.height)" } == [
            "webp320x240", "avif320x240", "webp640x480", "avif640x480", "webp1280x960", "avif1280x960", "webp1920x1440", "avif1920x1440",
        ])
        let upload = try #require(UploadKey(key))
        #expect(record.derived == ["thumbnail": upload.processedPrefix + "w320.webp", "web": upload.processedPrefix + "w1920.webp"])
        for variant in record.variants {
            let bytes = try await EngineObjectAccess(engine: setup.engine, bucket: "images").read(variant.key, version: nil, first: 16 << 20)
            #expect(variant.format == .webp ? !WebPMetadata.hasMetadata(bytes) : !AVIFMetadata.hasMetadata(bytes), "\(variant.key)")
        }
    }

    @Test("an animation's frames all count against the pixel limit")
    func animationLimit() async throws {
        let setup = try await Setup(maximumPixels: 10_000)
        defer { setup.remove() }
        let many = try await setup.upload(GIFSamples.animated(width: 50, height: 50, frames: 5), declared: "image/gif", ext: "gif")
        let (_, event) = try await setup.event(for: many)
        #expect(try await setup.worker.apply(event) == .rejected("5 frames of 50×50 pixels is over the limit of 10000 pixels."))
        let few = try await setup.upload(GIFSamples.animated(width: 50, height: 50, frames: 4), declared: "image/gif", ext: "gif")
        let (_, fewEvent) = try await setup.event(for: few)
        #expect(try await setup.worker.apply(fewEvent) == .processed)
    }

    @Test("pending records past their expiry and grace become expired")
    func expiry() async throws {
        let setup = try await Setup()
        defer { setup.remove() }
        let now = Date()
        let old = UploadRecord(key: "articles/\(setup.articleId)/raw/old.jpg", articleId: setup.articleId, owner: "alice",
                               contentType: "image/jpeg", size: 1, checksumSHA256: nil, issuedAt: now.addingTimeInterval(-2000),
                               expiresAt: now.addingTimeInterval(-1100), status: .pending)
        var fresh = old
        fresh.key = "articles/\(setup.articleId)/raw/fresh.jpg"
        fresh.expiresAt = now.addingTimeInterval(-100)  // expired, but within the grace period
        #expect(try await setup.records.record(old))
        #expect(try await setup.records.record(fresh))
        let housekeeping = Housekeeping(queue: setup.queue, records: setup.records, metrics: WorkerMetrics(), logger: Logger(label: "test"),
                                        grace: 300)
        await housekeeping.once()
        #expect(try await setup.records.upload(key: old.key)?.status == .expired)
        #expect(try await setup.records.upload(key: fresh.key)?.status == .pending)
    }

    @Test("multipart uploads past their expiry and grace are aborted on storage and in the records; others stay")
    func multipartExpiry() async throws {
        let setup = try await Setup()
        defer { setup.remove() }
        let now = Date()
        #expect(try await setup.records.record(UploadRecord(key: "articles/\(setup.articleId)/raw/first.jpg", articleId: setup.articleId,
                                                            owner: "alice", contentType: "image/jpeg", size: 1, checksumSHA256: nil,
                                                            issuedAt: now, expiresAt: now, status: .pending)))
        var ids: [String] = []
        for (name, expiry) in [("old", -1000.0), ("fresh", -100.0), ("gone", -1000.0)] {
            let key = "articles/\(setup.articleId)/raw/\(name).jpg"
            let upload = try await setup.engine.createMultipartUpload(bucket: "images", key: key, metadata: ObjectMetadata(contentType: "image/jpeg"))
            try await setup.records.recordMultipart(MultipartUploadRecord(
                uploadId: upload.uploadId, key: key, articleId: setup.articleId, owner: "alice", contentType: "image/jpeg", size: 10,
                partSize: 8 << 20, checksumSHA256: false, createdAt: now.addingTimeInterval(-2000), expiresAt: now.addingTimeInterval(expiry)))
            ids.append(upload.uploadId)
        }
        // Already gone on storage (aborted there by a lifecycle rule, say): the records catch up all the same.
        try await setup.engine.abortMultipartUpload(bucket: "images", key: "articles/\(setup.articleId)/raw/gone.jpg", uploadId: ids[2])
        let housekeeping = Housekeeping(queue: setup.queue, records: setup.records,
                                        objects: EngineObjectAccess(engine: setup.engine, bucket: "images"),
                                        metrics: WorkerMetrics(), logger: Logger(label: "test"), grace: 300)
        await housekeeping.once()
        #expect(try await setup.records.multipartUpload(id: ids[0])?.status == .aborted)
        #expect(try await setup.records.multipartUpload(id: ids[1])?.status == .active)
        #expect(try await setup.records.multipartUpload(id: ids[2])?.status == .aborted)
        let left = try await setup.engine.listMultipartUploads(bucket: "images").uploads.map(\.uploadId)
        #expect(left == [ids[1]])
    }
}
