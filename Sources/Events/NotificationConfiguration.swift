/// A bucket's event notification configuration: which object events go to which queue.
///
/// The store keeps it per bucket and consults it in the transaction that
/// publishes or removes an object (see the outbox); the S3 layer reads and
/// writes it as S3's `<NotificationConfiguration>` XML.
public struct NotificationConfiguration: Codable, Sendable, Equatable {
    /// One `<QueueConfiguration>`.
    public struct QueueRule: Codable, Sendable, Equatable {
        /// The rule's `Id`, reported in each event's `configurationId`.
        public var id: String
        /// The destination queue's ARN, `arn:aws:sqs:<region>:<account>:<name>`.
        public var queueARN: String
        /// Event types such as `s3:ObjectCreated:*` or `s3:ObjectRemoved:Delete`.
        public var events: [String]
        /// Key filters; empty means any key.
        public var prefix: String
        public var suffix: String

        public init(id: String, queueARN: String, events: [String], prefix: String = "", suffix: String = "") {
            self.id = id
            self.queueARN = queueARN
            self.events = events
            self.prefix = prefix
            self.suffix = suffix
        }

        /// The queue's name: the ARN's last field.
        public var queueName: String {
            queueARN.split(separator: ":", omittingEmptySubsequences: false).last.map(String.init) ?? queueARN
        }

        /// Whether an event named `eventName` (`ObjectCreated:Put`) on `key` goes to this rule's queue.
        public func matches(eventName: String, key: String) -> Bool {
            guard key.hasPrefix(prefix), key.hasSuffix(suffix) else { return false }
            let full = "s3:" + eventName
            return events.contains { pattern in
                if pattern.hasSuffix(":*") { return full.hasPrefix(pattern.dropLast()) }
                return pattern == full
            }
        }
    }

    public var queues: [QueueRule]

    public init(queues: [QueueRule]) {
        self.queues = queues
    }

    /// The event types a rule may name, as S3 lists them (the subset this store emits and a few it accepts).
    public static let knownEvents: Set<String> = [
        "s3:ObjectCreated:*", "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
        "s3:ObjectCreated:CompleteMultipartUpload",
        "s3:ObjectRemoved:*", "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated",
        "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete",
    ]
}
