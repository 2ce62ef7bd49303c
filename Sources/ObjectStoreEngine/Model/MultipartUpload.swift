import Foundation

/// A multipart upload in progress, as CreateMultipartUpload and ListMultipartUploads describe it.
public struct MultipartUploadInfo: Sendable, Hashable {
    /// The bucket's name.
    public let bucket: String
    /// The key the completed object will have.
    public let key: String
    /// The opaque id clients name the upload by.
    public let uploadId: String
    /// When the upload was created, in whole seconds.
    public let initiated: Date
    /// The metadata the completed object will have (given at creation).
    public let metadata: ObjectMetadata

    /// Creates an upload description.
    public init(bucket: String, key: String, uploadId: String, initiated: Date, metadata: ObjectMetadata) {
        self.bucket = bucket
        self.key = key
        self.uploadId = uploadId
        self.initiated = initiated
        self.metadata = metadata
    }
}

/// One uploaded part of a multipart upload.
public struct PartInfo: Sendable, Hashable {
    /// The part's number, 1 to 10,000.
    public let partNumber: Int
    /// The number of bytes.
    public let size: Int64
    /// The lowercase hex MD5 of the part's bytes, without quotes.
    public let etag: String
    /// When the part was uploaded, in whole seconds.
    public let lastModified: Date
    /// The base64 SHA-256 of the part's bytes.
    public let checksumSHA256: String?

    /// Creates a part description.
    public init(partNumber: Int, size: Int64, etag: String, lastModified: Date, checksumSHA256: String?) {
        self.partNumber = partNumber
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.checksumSHA256 = checksumSHA256
    }
}

/// A part as CompleteMultipartUpload names it: its number and the ETag the client was given.
public struct CompletedPart: Sendable, Hashable {
    /// The part's number.
    public let partNumber: Int
    /// The part's ETag; quotes are tolerated.
    public let etag: String

    /// Creates a part reference.
    public init(partNumber: Int, etag: String) {
        self.partNumber = partNumber
        self.etag = etag
    }
}

/// One page of ListParts.
public struct PartListing: Sendable, Hashable {
    /// The upload the parts belong to.
    public let upload: MultipartUploadInfo
    /// The parts after the marker, by number.
    public let parts: [PartInfo]
    /// Whether more parts follow.
    public let isTruncated: Bool
    /// The marker that continues the listing when truncated: the last part's number.
    public var nextPartNumberMarker: Int? { isTruncated ? parts.last?.partNumber : nil }
}

/// One page of ListMultipartUploads.
public struct MultipartUploadListing: Sendable, Hashable {
    /// The uploads, by key then upload id.
    public let uploads: [MultipartUploadInfo]
    /// Whether more uploads follow.
    public let isTruncated: Bool
    /// The key marker that continues the listing when truncated.
    public var nextKeyMarker: String? { isTruncated ? uploads.last?.key : nil }
    /// The upload-id marker that continues the listing when truncated.
    public var nextUploadIdMarker: String? { isTruncated ? uploads.last?.uploadId : nil }
}
