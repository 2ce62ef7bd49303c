import Foundation

/// A bucket, as `ListBuckets` shows it.
public struct BucketInfo: Sendable, Hashable {
    /// The bucket's name.
    public let name: String
    /// When it was created, in whole seconds.
    public let creationDate: Date

    /// Creates a bucket description.
    public init(name: String, creationDate: Date) {
        self.name = name
        self.creationDate = creationDate
    }
}
