import Foundation
import HoistSupport
import NIOHTTP1
import SigV4

/// What S3 says about an object in the headers of a `HEAD` or `GET`.
public struct S3ObjectHead: Sendable, Equatable {
    /// The whole object's size in bytes (also for a range `GET`, from `Content-Range`).
    public var size: Int64
    /// The entity tag without its quotes: the MD5 hex of a single-part upload.
    public var etag: String
    /// `Content-Type`, if the object has one.
    public var contentType: String?
    /// `Last-Modified`, to the second.
    public var lastModified: Date?
    /// User metadata (`x-amz-meta-*`), keys lowercased and without the prefix.
    public var metadata: [String: String]
    /// The base64 SHA-256 the object was stored with (`x-amz-checksum-sha256`), when it has one.
    public var checksumSHA256: String?
    /// `x-amz-version-id`, on versioned buckets.
    public var versionId: String?

    /// Creates a head from its parts.
    public init(size: Int64, etag: String, contentType: String? = nil, lastModified: Date? = nil,
                metadata: [String: String] = [:], checksumSHA256: String? = nil, versionId: String? = nil) {
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.lastModified = lastModified
        self.metadata = metadata
        self.checksumSHA256 = checksumSHA256
        self.versionId = versionId
    }

    /// Reads the head from response headers; `nil` when the size or `ETag` is missing.
    init?(headers: HTTPHeaders) {
        var size: Int64?
        if let range = headers.first(name: "content-range"), let slash = range.lastIndex(of: "/") {
            // `bytes 0-4/24`: the total follows the slash.
            size = Int64(range[range.index(after: slash)...])
        }
        if size == nil, let length = headers.first(name: "content-length") { size = Int64(length) }
        guard let size, let rawTag = headers.first(name: "etag") else { return nil }
        var metadata: [String: String] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if lower.hasPrefix("x-amz-meta-") { metadata[String(lower.dropFirst("x-amz-meta-".count))] = value }
        }
        self.init(size: size, etag: ETagText.unquote(rawTag), contentType: headers.first(name: "content-type"),
                  lastModified: headers.first(name: "last-modified").flatMap { AMZDate(httpDate: $0)?.date },
                  metadata: metadata, checksumSHA256: headers.first(name: "x-amz-checksum-sha256"),
                  versionId: headers.first(name: "x-amz-version-id"))
    }
}
