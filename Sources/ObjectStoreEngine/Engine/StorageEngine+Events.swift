import Events
import Foundation
import GRDB
import Synchronization

extension StorageEngine {
    // MARK: Notification configuration

    /// The bucket's event notification configuration, or `nil` when none is set.
    ///
    /// - Throws: `NoSuchBucket`.
    public func notificationConfiguration(_ bucket: String) async throws(StoreError) -> NotificationConfiguration? {
        guard let data = try await bucketConfiguration(bucket, name: Self.notificationName) else { return nil }
        do {
            return try JSONDecoder().decode(NotificationConfiguration.self, from: data)
        } catch {
            throw StoreError.internalError("Could not read the notification configuration", error)
        }
    }

    /// Sets (or with `nil` or no rules, removes) the bucket's notification configuration.
    ///
    /// As S3 does, each queue the configuration names receives an `s3:TestEvent`,
    /// in the same transaction.
    ///
    /// - Throws: `NoSuchBucket`.
    public func setNotificationConfiguration(_ bucket: String, _ configuration: NotificationConfiguration?) async throws(StoreError) {
        let value: Data?
        do {
            value = try configuration.flatMap { $0.queues.isEmpty ? nil : try JSONEncoder().encode($0) }
        } catch {
            throw StoreError.internalError("Could not encode the notification configuration", error)
        }
        let now = clock()
        try await write("store the notification configuration") { db in
            guard let id = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            try Self.storeConfiguration(db, bucketID: id, name: Self.notificationName, value: value)
            guard value != nil, let configuration else { return }
            var queues: [String] = []
            for rule in configuration.queues where !queues.contains(rule.queueName) { queues.append(rule.queueName) }
            for queue in queues {
                let body = Self.testEventBody(bucket: bucket, time: now)
                try Self.enqueue(db, queue: queue, body: body, time: now)
            }
        }
        eventGeneration.add(1, ordering: .releasing)
    }

    static let notificationName = "notification"

    static func testEventBody(bucket: String, time: Date) -> String {
        let object: [String: String] = [
            "Service": "Amazon S3", "Event": "s3:TestEvent", "Time": S3EventTime.string(time), "Bucket": bucket,
            "RequestId": UUID().uuidString, "HostId": "hoist",
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Emitting, inside the publishing transaction

    /// What a change to an object is, for its event notification.
    struct ObjectEvent: Sendable {
        /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, ...
        let name: String
        let time: Date
        let region: String
    }

    /// An event named `name` happening now.
    func objectEvent(_ name: String) -> ObjectEvent {
        ObjectEvent(name: name, time: clock(), region: region)
    }

    /// Adds the outbox rows the bucket's notification configuration asks for,
    /// inside the caller's transaction: they commit or roll back with the object change.
    ///
    /// - Returns: How many events were added.
    @discardableResult
    static func emit(
        _ db: Database,
        _ event: ObjectEvent,
        bucketID: Int64,
        key: String,
        size: Int64?,
        etag: String?,
        versionId: String?
    ) throws -> Int {
        guard let data = try Data.fetchOne(db, sql: "SELECT value FROM bucket_configuration WHERE bucket_id = ? AND name = ?",
                                           arguments: [bucketID, notificationName]) else { return 0 }
        let configuration = try decodedNotificationConfiguration(data)
        let rules = configuration.queues.filter { $0.matches(eventName: event.name, key: key) }
        guard !rules.isEmpty else { return 0 }
        guard let bucket = try String.fetchOne(db, sql: "SELECT name FROM bucket WHERE id = ?", arguments: [bucketID]) else { return 0 }
        let sequence = try Int64.fetchOne(db, sql: "UPDATE event_sequence SET value = value + 1 WHERE id = 1 RETURNING value") ?? 0
        let sequencer = String(UInt64(sequence), radix: 16, uppercase: true)
        let paddedSequencer = String(repeating: "0", count: max(0, 16 - sequencer.count)) + sequencer
        for rule in rules {
            let record = S3EventNotification.Record(
                awsRegion: event.region,
                eventTime: S3EventTime.string(event.time),
                eventName: event.name,
                s3: .init(
                    configurationId: rule.id,
                    bucket: .init(name: bucket),
                    object: .init(key: S3EventKey.encode(key), size: size, eTag: etag, versionId: versionId, sequencer: paddedSequencer)
                )
            )
            try enqueue(db, queue: rule.queueName, body: S3EventNotification(records: [record]).encoded(), time: event.time)
        }
        return rules.count
    }

    /// Decoded notification configurations by their stored bytes, so a write decodes a bucket's
    /// configuration once rather than on every object (at most 64 kept; a changed configuration
    /// is other bytes, so it is never served stale).
    static let notificationCache = Mutex<[Data: NotificationConfiguration]>([:])
    /// How many times a configuration was decoded (for the tests).
    static let notificationDecodes = Atomic<Int>(0)

    static func decodedNotificationConfiguration(_ data: Data) throws -> NotificationConfiguration {
        if let cached = notificationCache.withLock({ $0[data] }) { return cached }
        let decoded = try JSONDecoder().decode(NotificationConfiguration.self, from: data)
        notificationDecodes.add(1, ordering: .relaxed)
        notificationCache.withLock { cache in
            if cache.count >= 64 { cache.removeAll(keepingCapacity: true) }
            cache[data] = decoded
        }
        return decoded
    }

    static func enqueue(_ db: Database, queue: String, body: String, time: Date) throws {
        let seconds = time.timeIntervalSince1970
        try db.execute(sql: "INSERT INTO event (queue, body, created_at, visible_at) VALUES (?, ?, ?, ?)",
                       arguments: [queue, body, seconds, seconds])
    }

    /// At start: events a previous process had received but not deleted become
    /// visible again at once. Only this process consumes the outbox (the
    /// engine's lock keeps others out), so no one else is working on them.
    static func releaseReceivedEvents(_ database: DatabasePool) throws {
        try database.write { db in
            try db.execute(sql: "UPDATE event SET visible_at = 0, receipt = NULL WHERE dead_at IS NULL AND receipt IS NOT NULL")
        }
    }

    // MARK: Consuming

    /// The outbox of events for `queue` as an ``EventQueue``.
    ///
    /// - Parameters:
    ///   - queue: The queue name (the last field of a rule's queue ARN).
    ///   - maxReceiveCount: A message received this many times without being
    ///     deleted goes to the dead-letter set on its next receive, as with an SQS redrive policy.
    public func outbox(queue: String, maxReceiveCount: Int = 5) -> OutboxQueue {
        OutboxQueue(engine: self, queue: queue, maxReceiveCount: max(1, maxReceiveCount))
    }
}

/// The embedded store's event outbox, consumed like an SQS queue: at-least-once
/// delivery, visibility timeout, receive counts, a dead-letter set.
///
/// Events are written by the transaction that changes the object, so a
/// committed object always has its event and an event never names an object
/// change that did not commit.
public struct OutboxQueue: EventQueue {
    let engine: StorageEngine
    /// The queue's name.
    public let queue: String
    /// Receives before a message goes to the dead-letter set.
    public let maxReceiveCount: Int

    public func receive(maxMessages: Int, wait: Duration, visibilityTimeout: Int) async throws -> [QueueMessage] {
        let limit = min(max(maxMessages, 1), 10)
        let deadline = ContinuousClock.now + wait
        var seenGeneration = -1
        var lastLook = ContinuousClock.now
        while true {
            // Look when a write may have added events, and now and then for visibility timeouts that ended.
            let generation = engine.eventGeneration.load(ordering: .acquiring)
            if generation != seenGeneration || ContinuousClock.now - lastLook > .milliseconds(250) {
                seenGeneration = generation
                lastLook = ContinuousClock.now
                let messages = try await take(limit: limit, visibilityTimeout: visibilityTimeout)
                if !messages.isEmpty { return messages }
            }
            if ContinuousClock.now >= deadline { return [] }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Marks up to `limit` visible messages received, moving over-received ones to the dead-letter set.
    func take(limit: Int, visibilityTimeout: Int) async throws -> [QueueMessage] {
        let now = engine.clock().timeIntervalSince1970
        let queue = self.queue, maxReceiveCount = self.maxReceiveCount
        return try await engine.database.write { db in
            var messages: [QueueMessage] = []
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, body, created_at, receive_count FROM event
                WHERE queue = ? AND dead_at IS NULL AND visible_at <= ?
                ORDER BY id LIMIT ?
                """, arguments: [queue, now, limit])
            for row in rows {
                let id: Int64 = row["id"]
                let count: Int = row["receive_count"]
                if count >= maxReceiveCount {
                    try db.execute(sql: "UPDATE event SET dead_at = ?, receipt = NULL WHERE id = ?", arguments: [now, id])
                    continue
                }
                let receipt = UUID().uuidString
                try db.execute(sql: "UPDATE event SET receive_count = ?, visible_at = ?, receipt = ? WHERE id = ?",
                               arguments: [count + 1, now + Double(max(0, visibilityTimeout)), receipt, id])
                messages.append(Self.message(row, receiptHandle: receipt, receiveCount: count + 1))
            }
            return messages
        }
    }

    /// Adds a message of the caller's (SQS's SendMessage): for tools and tests; the store's own events come from its writes.
    public func send(_ body: String) async throws {
        let queue = self.queue, now = engine.clock()
        try await engine.database.write { db in try StorageEngine.enqueue(db, queue: queue, body: body, time: now) }
        engine.eventGeneration.add(1, ordering: .releasing)
    }

    /// A message from an `event` row (`id`, `body`, `created_at`).
    static func message(_ row: Row, receiptHandle: String, receiveCount: Int) -> QueueMessage {
        QueueMessage(id: String(row["id"] as Int64), receiptHandle: receiptHandle, body: row["body"], receiveCount: receiveCount,
                     sentAt: Date(timeIntervalSince1970: row["created_at"]))
    }

    public func delete(_ message: QueueMessage) async throws {
        guard let id = Int64(message.id) else { return }
        // A stale receipt (the message was received again meanwhile) deletes nothing:
        // the newer delivery decides.
        try await engine.database.write { db in
            try db.execute(sql: "DELETE FROM event WHERE id = ? AND receipt = ? AND dead_at IS NULL",
                           arguments: [id, message.receiptHandle])
        }
    }

    public func changeVisibility(_ message: QueueMessage, timeout: Int) async throws {
        guard let id = Int64(message.id) else { return }
        let visibleAt = engine.clock().timeIntervalSince1970 + Double(max(0, timeout))
        try await engine.database.write { db in
            try db.execute(sql: "UPDATE event SET visible_at = ? WHERE id = ? AND receipt = ? AND dead_at IS NULL",
                           arguments: [visibleAt, id, message.receiptHandle])
        }
        if timeout == 0 { engine.eventGeneration.add(1, ordering: .releasing) }
    }

    public func statistics() async throws -> QueueStatistics {
        let now = engine.clock().timeIntervalSince1970
        let queue = self.queue
        return try await engine.database.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM event WHERE queue = ? AND dead_at IS NULL",
                                       arguments: [queue])
            let oldest: Double? = row?["oldest"]
            return QueueStatistics(depth: row?["n"] ?? 0, oldestAge: oldest.map { max(0, now - $0) })
        }
    }

    /// The messages in the dead-letter set, oldest first.
    public func deadLetters(limit: Int = 100) async throws -> [QueueMessage] {
        let queue = self.queue
        return try await engine.database.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, body, created_at, receive_count FROM event WHERE queue = ? AND dead_at IS NOT NULL ORDER BY id LIMIT ?
                """, arguments: [queue, limit]).map { row in Self.message(row, receiptHandle: "", receiveCount: row["receive_count"]) }
        }
    }
}
