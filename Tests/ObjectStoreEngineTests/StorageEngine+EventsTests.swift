import Events
import Foundation
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineEventsTests {
    static let arn = "arn:aws:sqs:us-east-1:000000000000:uploads"

    func configure(_ engine: StorageEngine, events: [String] = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                   prefix: String = "", suffix: String = "") async throws {
        try await engine.setNotificationConfiguration("bucket", NotificationConfiguration(queues: [
            .init(id: "worker", queueARN: Self.arn, events: events, prefix: prefix, suffix: suffix),
        ]))
    }

    /// Receives everything visible now and deletes it: the bodies, oldest first.
    func drain(_ queue: OutboxQueue) async throws -> [String] {
        var bodies: [String] = []
        while true {
            let messages = try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30)
            if messages.isEmpty { return bodies }
            for message in messages {
                bodies.append(message.body)
                try await queue.delete(message)
            }
        }
    }

    func records(_ bodies: [String]) throws -> [S3EventNotification.Record] {
        try bodies.map { body in
            let notification = try #require(S3EventNotification.decode(body), "not an event: \(body)")
            #expect(notification.records.count == 1)
            return try #require(notification.records.first)
        }
    }

    @Test func writesDecodeTheConfigurationOnceAndSeeAChangeAtOnce() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let unique = "worker-\(UUID().uuidString)"
        try await engine.setNotificationConfiguration("bucket", NotificationConfiguration(queues: [
            .init(id: unique, queueARN: Self.arn, events: ["s3:ObjectCreated:*"], prefix: "a/", suffix: ""),
        ]))
        let data = try #require(try await engine.bucketConfiguration("bucket", name: StorageEngine.notificationName))
        #expect(StorageEngine.notificationCache.withLock { $0[data] } == nil)
        for index in 0..<5 { try await engine.put("bucket", "a/\(index)", "x") }
        // Decoded by the first write, then taken from the cache by the others.
        let cached = try #require(StorageEngine.notificationCache.withLock { $0[data] })
        #expect(cached.queues.first?.id == unique)
        #expect(try StorageEngine.decodedNotificationConfiguration(data) == cached)
        // A new configuration is new bytes: the next write follows it.
        try await engine.setNotificationConfiguration("bucket", NotificationConfiguration(queues: [
            .init(id: unique, queueARN: Self.arn, events: ["s3:ObjectCreated:*"], prefix: "b/", suffix: ""),
        ]))
        try await engine.put("bucket", "a/after", "x")
        try await engine.put("bucket", "b/after", "x")
        let bodies = try await drain(engine.outbox(queue: "uploads")).filter { !S3EventNotification.isTestEvent($0) }
        let keys = try records(bodies).map(\.s3.object.key)
        #expect(keys == ["a/0", "a/1", "a/2", "a/3", "a/4", "b/after"])
    }

    @Test func noConfigurationMeansNoEvents() async throws {
        let store = try await TestStore()
        defer { store.close() }
        try await store.engine.put("bucket", "a.jpg", "x")
        #expect(try await store.engine.outbox(queue: "uploads").statistics().depth == 0)
        #expect(try await store.engine.notificationConfiguration("bucket") == nil)
    }

    @Test func everyChangeHasItsEventInS3Format() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await configure(engine)
        let queue = engine.outbox(queue: "uploads")
        let test = try await drain(queue)
        #expect(test.count == 1)
        #expect(S3EventNotification.isTestEvent(test[0]))

        let info = try await engine.put("bucket", "articles/a 1/raw/ünï+(1).jpg", "hello")
        _ = try await engine.copy(fromBucket: "bucket", fromKey: "articles/a 1/raw/ünï+(1).jpg", toBucket: "bucket", toKey: "copy.jpg", metadata: nil)
        #expect(try await engine.delete(bucket: "bucket", key: "copy.jpg"))
        #expect(try await engine.delete(bucket: "bucket", key: "copy.jpg") == false)  // nothing removed, no event

        let records = try records(try await drain(queue))
        #expect(records.map(\.eventName) == ["ObjectCreated:Put", "ObjectCreated:Copy", "ObjectRemoved:Delete"])
        let put = records[0]
        #expect(put.eventVersion == "2.1")
        #expect(put.eventSource == "aws:s3")
        #expect(put.awsRegion == "us-east-1")
        #expect(put.eventTime == "2025-01-02T03:04:05.750Z")
        #expect(put.s3.configurationId == "worker")
        #expect(put.s3.bucket.name == "bucket")
        #expect(put.s3.bucket.arn == "arn:aws:s3:::bucket")
        #expect(put.s3.object.key == "articles/a+1/raw/%C3%BCn%C3%AF%2B%281%29.jpg")
        #expect(put.s3.object.decodedKey == "articles/a 1/raw/ünï+(1).jpg")
        #expect(put.s3.object.size == 5)
        #expect(put.s3.object.eTag == info.etag)
        #expect(put.s3.object.versionId == nil)
        #expect(records[2].s3.object.size == nil)
        #expect(records[2].s3.object.eTag == nil)
        // Sequencers grow with each change.
        let sequencers = records.map(\.s3.object.sequencer)
        #expect(S3EventNotification.sequencer(sequencers[0], isBefore: sequencers[1]))
        #expect(S3EventNotification.sequencer(sequencers[1], isBefore: sequencers[2]))
    }

    @Test func multipartAndLifecycleHaveTheirEventNames() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await configure(engine, events: ["s3:ObjectCreated:*", "s3:LifecycleExpiration:*"])
        let queue = engine.outbox(queue: "uploads")
        _ = try await drain(queue)
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "big.bin", metadata: ObjectMetadata())
        let part = try await StorageEngineMultipartTests.upload(engine, upload, part: 1, Array("tiny last part".utf8))
        #expect(try await drain(queue).isEmpty, "parts are not objects: no event yet")
        let info = try await engine.completeMultipartUpload(bucket: "bucket", key: "big.bin", uploadId: upload.uploadId,
                                                      parts: [CompletedPart(partNumber: 1, etag: part.etag)])
        store.clock.advance(by: 3 * 86400)
        #expect(try await engine.expireObjects(bucket: "bucket", prefix: "", modifiedBefore: store.clock.now.addingTimeInterval(-86400)) == 1)
        let records = try records(try await drain(queue))
        #expect(records.map(\.eventName) == ["ObjectCreated:CompleteMultipartUpload", "LifecycleExpiration:Delete"])
        #expect(records.first?.s3.object.eTag == info.etag)
        #expect(records.first?.s3.object.size == info.size)
    }

    @Test func filtersChooseEvents() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await configure(engine, events: ["s3:ObjectCreated:Put"], prefix: "articles/", suffix: ".jpg")
        let queue = engine.outbox(queue: "uploads")
        _ = try await drain(queue)
        try await engine.put("bucket", "articles/1/a.jpg", "1")
        try await engine.put("bucket", "articles/1/a.png", "2")  // wrong suffix
        try await engine.put("bucket", "other/a.jpg", "3")       // wrong prefix
        _ = try await engine.copy(fromBucket: "bucket", fromKey: "articles/1/a.jpg", toBucket: "bucket", toKey: "articles/2/b.jpg", metadata: nil)
        _ = try await engine.delete(bucket: "bucket", key: "articles/1/a.jpg")  // removals not asked for
        let keys = try records(try await drain(queue)).compactMap(\.s3.object.decodedKey)
        #expect(keys == ["articles/1/a.jpg"])
    }

    @Test func aRefusedWriteHasNoEvent() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await configure(engine)
        let queue = engine.outbox(queue: "uploads")
        _ = try await drain(queue)
        try await engine.put("bucket", "k.jpg", "first")
        await #expect(throws: StoreError.self) { try await engine.put("bucket", "k.jpg", "second", condition: .ifNoneMatchAny) }
        let records = try records(try await drain(queue))
        #expect(records.count == 1)
        #expect(records.first?.s3.object.size == 5)
        #expect(try await engine.text("bucket", "k.jpg") == "first")
    }

    @Test func visibilityRetriesAndDeadLetters() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await configure(engine)
        let queue = engine.outbox(queue: "uploads", maxReceiveCount: 2)
        _ = try await drain(queue)
        try await engine.put("bucket", "a.jpg", "x")

        let first = try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 60)
        #expect(first.count == 1)
        #expect(first.first?.receiveCount == 1)
        // Hidden while in flight.
        #expect(try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 60).isEmpty)
        #expect(try await queue.statistics().depth == 1)
        // Visible again when its timeout ends.
        store.clock.advance(by: 61)
        let second = try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 60)
        #expect(second.map(\.id) == first.map(\.id))
        #expect(second.first?.receiveCount == 2)
        // The first delivery's receipt is stale: deleting with it does nothing.
        try await queue.delete(try #require(first.first))
        #expect(try await queue.statistics().depth == 1)
        // Let it come back at once; a third receive exceeds maxReceiveCount: dead letter.
        try await queue.changeVisibility(try #require(second.first), timeout: 0)
        #expect(try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 60).isEmpty)
        #expect(try await queue.statistics().depth == 0)
        let dead = try await queue.deadLetters()
        #expect(dead.map(\.id) == first.map(\.id))
        #expect(dead.first?.body == first.first?.body)
    }

    @Test func longPollWakesOnAWrite() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await configure(engine)
        let queue = engine.outbox(queue: "uploads")
        _ = try await drain(queue)
        async let received = queue.receive(maxMessages: 1, wait: .seconds(30), visibilityTimeout: 30)
        try await Task.sleep(for: .milliseconds(50))
        try await engine.put("bucket", "late.jpg", "x")
        let messages = try await received
        #expect(try records(messages.map(\.body)).first?.s3.object.key == "late.jpg")
    }

    @Test func eventsInFlightComeBackAfterARestart() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var engine: StorageEngine? = try StorageEngine(directory: directory.url)
        try await engine?.createBucket("bucket")
        try await configure(try #require(engine))
        _ = try await drain(try #require(engine).outbox(queue: "uploads"))
        try await engine?.put("bucket", "a.jpg", "x")
        let taken = try await try #require(engine).outbox(queue: "uploads").receive(maxMessages: 10, wait: .zero, visibilityTimeout: 3600)
        #expect(taken.count == 1)
        engine = nil  // the process "dies" with the event in flight
        let reopened = try StorageEngine(directory: directory.url)
        let again = try await reopened.outbox(queue: "uploads").receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30)
        #expect(again.map(\.id) == taken.map(\.id))
        #expect(again.first?.receiveCount == 2)
    }
}
