import Events
import Foundation
import PostgresNIO
import Uploads

/// A durable event queue in PostgreSQL, with SQS's semantics (``EventQueue``): at-least-once
/// delivery; a received message is leased (hidden) for its visibility timeout, and comes back
/// when the lease ends unless it is deleted; after `maxReceiveCount` deliveries it goes to the
/// dead letters (kept, with `dead_at` set, never delivered again).
///
/// Consumers on any number of processes take different messages: a receive locks the rows it
/// takes with `FOR UPDATE SKIP LOCKED`, so concurrent receivers skip each other's instead of
/// waiting, and leases them in the same statement. Each delivery has its own receipt: a consumer
/// whose lease ended (and whose message went to another) can no longer delete or extend it.
public struct PostgresEventQueue: EventQueue {
    let database: PostgresUploadsDatabase
    /// The queue's name: one table holds many queues.
    public let name: String
    /// Deliveries before a message goes to the dead letters.
    public let maxReceiveCount: Int
    /// How often an empty receive looks again while it waits.
    let pollInterval: Duration
    let clock: @Sendable () -> Date

    /// A queue named `name` in `database` (migrated).
    public init(database: PostgresUploadsDatabase, name: String, maxReceiveCount: Int = 5, pollInterval: Duration = .milliseconds(250),
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.name = name
        self.maxReceiveCount = max(1, maxReceiveCount)
        self.pollInterval = pollInterval
        self.clock = clock
    }

    /// Adds a message (an S3 event notification's JSON, usually).
    /// - Returns: The message's id.
    @discardableResult
    public func send(_ body: String) async throws -> String {
        let now = clock().timeIntervalSince1970
        return try await database.query("""
            INSERT INTO hoist_queue_message (queue, body, sent_at, visible_at) VALUES (\(name), \(body), \(now), \(now)) RETURNING id
            """) { rows in
            var id: Int64 = 0
            for try await value in rows.decode(Int64.self) { id = value }
            return String(id)
        }
    }

    /// One event to queue once: the message's body and what identifies the event it carries.
    public struct OnceMessage: Sendable {
        public var bucket: String
        public var key: String
        /// The object's version id (`""` when the bucket is not versioned).
        public var version: String
        /// The storage's sequencer of the event.
        public var sequencer: String
        public var body: String

        public init(bucket: String, key: String, version: String, sequencer: String, body: String) {
            self.bucket = bucket
            self.key = key
            self.version = version
            self.sequencer = sequencer
            self.body = body
        }
    }

    /// Queues each message whose event was not queued before, in one transaction with the record
    /// that it was: an event pushed twice (the storage retrying after a lost answer) is queued once.
    /// Receipts older than a week are dropped on the way.
    /// - Returns: How many were queued, and how many were duplicates.
    public func sendOnce(_ messages: [OnceMessage], timeout: Duration = .seconds(10)) async throws -> (queued: Int, duplicates: Int) {
        let now = clock().timeIntervalSince1970
        let name = name
        return try await database.transaction(timeout: timeout) { connection, logger in
            var queued = 0, duplicates = 0
            try await connection.query("DELETE FROM hoist_event_seen WHERE seen_at < \(now - 7 * 86_400)", logger: logger)
            for message in messages {
                var fresh = false
                for try await _ in try await connection.query("""
                    INSERT INTO hoist_event_seen (bucket, key, version, sequencer, seen_at)
                    VALUES (\(message.bucket), \(message.key), \(message.version), \(message.sequencer), \(now))
                    ON CONFLICT DO NOTHING RETURNING 1
                    """, logger: logger) {
                    fresh = true
                }
                guard fresh else {
                    duplicates += 1
                    continue
                }
                try await connection.query("""
                    INSERT INTO hoist_queue_message (queue, body, sent_at, visible_at) VALUES (\(name), \(message.body), \(now), \(now))
                    """, logger: logger)
                queued += 1
            }
            return (queued, duplicates)
        }
    }

    public func receive(maxMessages: Int, wait: Duration, visibilityTimeout: Int) async throws -> [QueueMessage] {
        let deadline = ContinuousClock.now.advanced(by: wait)
        while true {
            let messages = try await receiveOnce(maxMessages: min(10, max(1, maxMessages)), visibilityTimeout: visibilityTimeout)
            if !messages.isEmpty || ContinuousClock.now >= deadline { return messages }
            try await Task.sleep(for: min(pollInterval, deadline - ContinuousClock.now))
        }
    }

    /// One statement: takes up to `maxMessages` visible messages (skipping rows other receivers
    /// hold), leases them with a new receipt and counts the delivery; a message delivered
    /// `maxReceiveCount` times already goes to the dead letters instead.
    func receiveOnce(maxMessages: Int, visibilityTimeout: Int) async throws -> [QueueMessage] {
        let now = clock().timeIntervalSince1970
        let visibleAt = now + Double(max(0, visibilityTimeout))
        return try await database.query("""
            WITH picked AS (
                SELECT id FROM hoist_queue_message
                WHERE queue = \(name) AND dead_at IS NULL AND visible_at <= \(now)
                ORDER BY visible_at, id
                LIMIT \(maxMessages)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE hoist_queue_message AS m SET
                dead_at = CASE WHEN m.receive_count >= \(maxReceiveCount) THEN \(now)::float8 END,
                receive_count = CASE WHEN m.receive_count >= \(maxReceiveCount) THEN m.receive_count ELSE m.receive_count + 1 END,
                visible_at = \(visibleAt)::float8,
                receipt = md5(random()::text || clock_timestamp()::text || m.id::text)
            FROM picked WHERE m.id = picked.id
            RETURNING m.id, m.receipt, m.body, m.receive_count, m.sent_at, m.dead_at IS NULL
            """) { rows in
            var messages: [QueueMessage] = []
            for try await (id, receipt, body, count, sentAt, delivered) in rows.decode((Int64, String, String, Int, Double, Bool).self)
            where delivered {
                messages.append(QueueMessage(id: String(id), receiptHandle: "\(id):\(receipt)", body: body, receiveCount: count,
                                             sentAt: Date(timeIntervalSince1970: sentAt)))
            }
            return messages.sorted { (Int64($0.id) ?? 0) < (Int64($1.id) ?? 0) }
        }
    }

    /// The message id and receipt of a delivery's handle (`<id>:<receipt>`).
    static func parse(_ handle: String) throws -> (Int64, String) {
        let parts = handle.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let id = Int64(parts[0]) else {
            throw UploadRecordStoreError(description: "Not a receipt handle of this queue.")
        }
        return (id, String(parts[1]))
    }

    public func delete(_ message: QueueMessage) async throws {
        let (id, receipt) = try Self.parse(message.receiptHandle)
        try await database.query("DELETE FROM hoist_queue_message WHERE id = \(id) AND receipt = \(receipt)") { rows in
            for try await _ in rows {}
        }
    }

    public func changeVisibility(_ message: QueueMessage, timeout: Int) async throws {
        let (id, receipt) = try Self.parse(message.receiptHandle)
        let visibleAt = clock().timeIntervalSince1970 + Double(max(0, timeout))
        try await database.query("""
            UPDATE hoist_queue_message SET visible_at = \(visibleAt) WHERE id = \(id) AND receipt = \(receipt) AND dead_at IS NULL
            """) { rows in for try await _ in rows {} }
    }

    public func statistics() async throws -> QueueStatistics {
        let now = clock().timeIntervalSince1970
        return try await database.query("""
            SELECT count(*)::bigint, min(sent_at) FROM hoist_queue_message WHERE queue = \(name) AND dead_at IS NULL
            """) { rows in
            var statistics = QueueStatistics(depth: 0, oldestAge: nil)
            for try await (depth, oldest) in rows.decode((Int, Double?).self) {
                statistics = QueueStatistics(depth: depth, oldestAge: oldest.map { max(0, now - $0) })
            }
            return statistics
        }
    }

    /// The dead letters' bodies, oldest first (for operators and tests).
    public func deadLetters(limit: Int = 100) async throws -> [String] {
        try await database.query("""
            SELECT body FROM hoist_queue_message WHERE queue = \(name) AND dead_at IS NOT NULL ORDER BY id LIMIT \(limit)
            """) { rows in
            var bodies: [String] = []
            for try await body in rows.decode(String.self) { bodies.append(body) }
            return bodies
        }
    }
}
