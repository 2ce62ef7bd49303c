import Foundation

/// A bucket's lifecycle rules: which objects expire and when abandoned
/// multipart uploads are aborted.
///
/// The HTTP layer parses S3's XML into this and stores it as the bucket
/// configuration ``configurationName`` (JSON);
/// ``StorageEngine/applyLifecycle(now:)`` applies the rules of every bucket.
///
/// ```swift
/// let rules = LifecycleConfiguration(rules: [
///     .init(id: "tidy", prefix: "tmp/", abortIncompleteMultipartUploadDays: 1, expirationDays: 7),
/// ])
/// ```
public struct LifecycleConfiguration: Sendable, Hashable, Codable {
    /// One rule.
    public struct Rule: Sendable, Hashable, Codable {
        /// The rule's `ID`.
        public var id: String?
        /// The key prefix it applies to (`""`: every key).
        public var prefix: String
        /// `Status` `Enabled`; a disabled rule is kept but not applied.
        public var enabled: Bool
        /// `AbortIncompleteMultipartUpload/DaysAfterInitiation`.
        public var abortIncompleteMultipartUploadDays: Int?
        /// `Expiration/Days`: objects older than this many days are deleted.
        public var expirationDays: Int?
        /// `Expiration/Date`: from this moment objects under the prefix are deleted.
        public var expirationDate: Date?
        /// `NoncurrentVersionExpiration/NoncurrentDays`: in a versioned bucket, a version that has
        /// been noncurrent (replaced or hidden by a delete marker) for this many days is deleted for good.
        public var noncurrentVersionExpirationDays: Int?

        /// Creates a rule.
        public init(id: String? = nil, prefix: String = "", enabled: Bool = true,
                    abortIncompleteMultipartUploadDays: Int? = nil, expirationDays: Int? = nil, expirationDate: Date? = nil,
                    noncurrentVersionExpirationDays: Int? = nil) {
            self.id = id
            self.prefix = prefix
            self.enabled = enabled
            self.abortIncompleteMultipartUploadDays = abortIncompleteMultipartUploadDays
            self.expirationDays = expirationDays
            self.expirationDate = expirationDate
            self.noncurrentVersionExpirationDays = noncurrentVersionExpirationDays
        }
    }

    /// The rules, in document order.
    public var rules: [Rule]

    /// Creates a configuration.
    public init(rules: [Rule]) {
        self.rules = rules
    }

    /// The bucket configuration name it is stored under.
    public static let configurationName = "lifecycle"
}

/// What one pass of ``StorageEngine/applyLifecycle(now:)`` did.
public struct LifecycleReport: Sendable, Hashable {
    /// Multipart uploads aborted.
    public var abortedUploads = 0
    /// Objects deleted by expiration.
    public var expiredObjects = 0
    /// Noncurrent versions (and noncurrent delete markers) deleted for good.
    public var expiredVersions = 0

    /// An empty report.
    public init() {}
}
