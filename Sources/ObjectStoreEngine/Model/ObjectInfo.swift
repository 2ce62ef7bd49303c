import Foundation

/// What the index knows of one object: what `HEAD` answers.
public struct ObjectInfo: Sendable, Hashable {
    /// The bucket's name.
    public let bucket: String
    /// The object's key.
    public let key: String
    /// The number of bytes.
    public let size: Int64
    /// The lowercase hex MD5 of the bytes, without quotes.
    public let etag: String
    /// When the object was written (or copied), in whole seconds.
    public let lastModified: Date
    /// The standard headers and user metadata stored with it.
    public let metadata: ObjectMetadata
    /// The version's id (`null` for the null version) in a bucket whose versioning was ever
    /// configured; `nil` in a bucket that was never versioned.
    public let versionId: String?

    /// Creates an object description.
    public init(bucket: String, key: String, size: Int64, etag: String, lastModified: Date, metadata: ObjectMetadata,
                versionId: String? = nil) {
        self.versionId = versionId
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.metadata = metadata
    }
}
