import Foundation

/// A bucket's server access logging: where its log objects go (`PutBucketLogging`).
///
/// Kept as the bucket configuration ``configurationName`` (JSON); absent when logging is off.
/// ``AccessLogService`` writes the log objects `<targetPrefix>YYYY-mm-DD-HH-MM-SS-<16 hex>`
/// into ``targetBucket``.
///
/// ```swift
/// let logging = try BucketLogging(xml: body)   // nil: logging off
/// logging?.targetBucket                       // "logs"
/// ```
struct BucketLogging: Codable, Sendable, Equatable {
    /// The bucket configuration's name.
    static let configurationName = "logging"
    /// The longest prefix: a log object's key adds 36 bytes and must stay within 1024.
    static let maximumPrefixLength = 1024 - 36

    /// The bucket the log objects are written to (same owner; it may be the logged bucket itself).
    var targetBucket: String
    /// The start of every log object's key (may be empty).
    var targetPrefix: String

    /// Parses a `<BucketLoggingStatus>` document.
    ///
    /// - Parameter data: the request body.
    /// - Returns: the configuration, or `nil` for an empty `BucketLoggingStatus` (logging off).
    /// - Throws: ``S3Error`` `MalformedXML` when the document is not one; `InvalidArgument` for a
    ///   prefix too long to name a log object; `NotImplemented` for partitioned key formats.
    static func parse(xml data: Data) throws -> BucketLogging? {
        let malformed = XMLTree.malformed
        let root = try XMLTree.parse(data)
        guard root.name == "BucketLoggingStatus" else { throw malformed }
        guard let enabled = root.child("LoggingEnabled") else { return nil }
        guard let bucket = enabled.child("TargetBucket")?.text.trimmingCharacters(in: .whitespacesAndNewlines), !bucket.isEmpty,
              let prefix = enabled.child("TargetPrefix")?.text
        else { throw malformed }
        guard prefix.utf8.count <= maximumPrefixLength else {
            throw S3Error(.invalidArgument, "The target prefix must be at most \(maximumPrefixLength) bytes long.")
        }
        if let format = enabled.child("TargetObjectKeyFormat"), format.child("PartitionedPrefix") != nil {
            throw S3Error(.notImplemented, "The PartitionedPrefix log object key format is not implemented by this store yet.")
        }
        // TargetGrants: the store has one owner, who can read every log object already.
        return BucketLogging(targetBucket: bucket, targetPrefix: prefix)
    }

    /// The `GetBucketLogging` answer for `logging` (an empty `BucketLoggingStatus` for `nil`).
    static func xml(_ logging: BucketLogging?) -> String {
        var x = XMLWriter()
        guard let logging else {
            x.appendRaw("<BucketLoggingStatus xmlns=\"\(XMLWriter.namespace)\"/>")
            return x.document
        }
        x.element("BucketLoggingStatus", namespace: true) { x in
            x.element("LoggingEnabled") { x in
                x.leaf("TargetBucket", logging.targetBucket)
                x.leaf("TargetPrefix", logging.targetPrefix)
            }
        }
        return x.document
    }
}
