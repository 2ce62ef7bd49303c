import Foundation

/// One message taken from a queue: an S3 event notification's JSON, usually.
///
/// A received message is hidden from other consumers until its visibility
/// timeout ends; a consumer that finishes deletes it, one that fails lets it
/// come back (at-least-once delivery).
public struct QueueMessage: Sendable, Equatable {
    /// The queue's id for the message; stable across deliveries.
    public var id: String
    /// The handle of this delivery: delete and visibility changes need it.
    public var receiptHandle: String
    /// The message body.
    public var body: String
    /// How many times the message has been delivered, this delivery included (1 at first).
    public var receiveCount: Int
    /// When the message was first enqueued, if the queue says.
    public var sentAt: Date?

    public init(id: String, receiptHandle: String, body: String, receiveCount: Int, sentAt: Date?) {
        self.id = id
        self.receiptHandle = receiptHandle
        self.body = body
        self.receiveCount = receiveCount
        self.sentAt = sentAt
    }
}

/// How full a queue is, for metrics.
public struct QueueStatistics: Sendable, Equatable {
    /// Messages waiting or in flight.
    public var depth: Int
    /// Age of the oldest waiting message in seconds, if the queue knows it.
    public var oldestAge: Double?

    public init(depth: Int, oldestAge: Double?) {
        self.depth = depth
        self.oldestAge = oldestAge
    }
}

/// Where the image worker takes its events from: the embedded store's outbox,
/// or Amazon SQS (and anything that speaks its protocol).
///
/// Semantics follow SQS: at-least-once delivery; a message that is received
/// more than the queue's maximum receive count goes to its dead-letter queue
/// instead of being delivered again.
public protocol EventQueue: Sendable {
    /// Up to `maxMessages` messages (1...10), waiting up to `wait` for the first to arrive;
    /// each is hidden from other receivers for `visibilityTimeout` seconds.
    func receive(maxMessages: Int, wait: Duration, visibilityTimeout: Int) async throws -> [QueueMessage]
    /// Removes a message for good: its processing is done.
    func delete(_ message: QueueMessage) async throws
    /// Hides the message for `timeout` seconds from now (0 makes it visible at once): retry later.
    func changeVisibility(_ message: QueueMessage, timeout: Int) async throws
    /// Depth and age of the oldest message.
    func statistics() async throws -> QueueStatistics
}
