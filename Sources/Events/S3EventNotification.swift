import Foundation

/// An S3 event notification: the JSON document S3 sends to a queue when an
/// object is created or removed (`{"Records": [...]}`).
///
/// The store writes these into its outbox and the worker reads them, from the
/// outbox or from Amazon SQS; the same type decodes AWS's own.
public struct S3EventNotification: Codable, Sendable, Equatable {
    public var records: [Record]

    enum CodingKeys: String, CodingKey {
        case records = "Records"
    }

    public init(records: [Record]) {
        self.records = records
    }

    /// One event.
    public struct Record: Codable, Sendable, Equatable {
        /// `2.1` for events without restore or replication details.
        public var eventVersion: String
        /// `aws:s3`.
        public var eventSource: String
        public var awsRegion: String
        /// ISO 8601 with milliseconds, UTC.
        public var eventTime: String
        /// For example `ObjectCreated:Put` or `ObjectRemoved:Delete` (no `s3:` prefix).
        public var eventName: String
        public var s3: Entity

        public init(awsRegion: String, eventTime: String, eventName: String, s3: Entity) {
            self.eventVersion = "2.1"
            self.eventSource = "aws:s3"
            self.awsRegion = awsRegion
            self.eventTime = eventTime
            self.eventName = eventName
            self.s3 = s3
        }
    }

    /// The `s3` part of a record.
    public struct Entity: Codable, Sendable, Equatable {
        public var s3SchemaVersion: String
        /// The `Id` of the notification configuration that matched.
        public var configurationId: String
        public var bucket: Bucket
        public var object: Object

        public init(configurationId: String, bucket: Bucket, object: Object) {
            self.s3SchemaVersion = "1.0"
            self.configurationId = configurationId
            self.bucket = bucket
            self.object = object
        }
    }

    public struct Bucket: Codable, Sendable, Equatable {
        public var name: String
        public var arn: String

        public init(name: String) {
            self.name = name
            self.arn = "arn:aws:s3:::\(name)"
        }
    }

    public struct Object: Codable, Sendable, Equatable {
        /// Form-URL-encoded (``S3EventKey``); ``decodedKey`` gives the key.
        public var key: String
        /// Absent for removals.
        public var size: Int64?
        /// Without quotes; absent for removals.
        public var eTag: String?
        /// Absent for objects of unversioned buckets.
        public var versionId: String?
        /// Orders the events of one key: a later change has a greater sequencer
        /// (compare equal-length hex strings, or pad the shorter one on the left).
        public var sequencer: String

        public init(key: String, size: Int64?, eTag: String?, versionId: String?, sequencer: String) {
            self.key = key
            self.size = size
            self.eTag = eTag
            self.versionId = versionId
            self.sequencer = sequencer
        }

        /// The object's key, decoded; `nil` when the encoding is malformed.
        public var decodedKey: String? { S3EventKey.decode(key) }
    }

    /// Decodes a notification; `nil` for anything else, such as an `s3:TestEvent`.
    public static func decode(_ body: String) -> S3EventNotification? {
        try? JSONDecoder().decode(S3EventNotification.self, from: Data(body.utf8))
    }

    /// The message body.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and integers cannot fail.
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }

    /// Whether `body` is S3's `s3:TestEvent`, sent when a notification configuration is set.
    public static func isTestEvent(_ body: String) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return false }
        return object["Event"] as? String == "s3:TestEvent"
    }

    /// Compares two sequencers as S3 says to: as hex numbers, the shorter padded with zeros on the left.
    public static func sequencer(_ a: String, isBefore b: String) -> Bool {
        let width = max(a.count, b.count)
        let pa = String(repeating: "0", count: width - a.count) + a.uppercased()
        let pb = String(repeating: "0", count: width - b.count) + b.uppercased()
        return pa < pb
    }
}

/// Formats event times as S3 does: `2026-11-29T20:01:02.345Z`.
public enum S3EventTime {
    public static func string(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = millis / 1000
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(millis % 1000))
    }
}
