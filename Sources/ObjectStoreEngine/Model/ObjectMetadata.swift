/// What S3 keeps beside an object's bytes: its standard headers and user metadata.
///
/// The HTTP layer fills it from a `PUT`'s headers and writes it back on `GET`
/// and `HEAD`; the engine stores it as given.
///
/// ```swift
/// let metadata = ObjectMetadata(contentType: "image/png", userMetadata: ["article": "42"])
/// ```
public struct ObjectMetadata: Sendable, Hashable, Codable {
    /// `Content-Type`.
    public var contentType: String?
    /// `Cache-Control`.
    public var cacheControl: String?
    /// `Content-Disposition`.
    public var contentDisposition: String?
    /// `Content-Encoding`.
    public var contentEncoding: String?
    /// `Content-Language`.
    public var contentLanguage: String?
    /// `Expires`, as the client sent it.
    public var expires: String?
    /// User metadata: keys lowercased, without the `x-amz-meta-` prefix.
    public var userMetadata: [String: String]
    /// The base64 SHA-256 of the bytes, when the client sent `x-amz-checksum-sha256`.
    ///
    /// ``StorageEngine/commit(_:bucket:key:metadata:condition:)`` refuses a
    /// value that differs from the bytes' digest.
    public var checksumSHA256: String?

    /// Creates metadata; every field defaults to absent.
    public init(
        contentType: String? = nil,
        cacheControl: String? = nil,
        contentDisposition: String? = nil,
        contentEncoding: String? = nil,
        contentLanguage: String? = nil,
        expires: String? = nil,
        userMetadata: [String: String] = [:],
        checksumSHA256: String? = nil
    ) {
        self.contentType = contentType
        self.cacheControl = cacheControl
        self.contentDisposition = contentDisposition
        self.contentEncoding = contentEncoding
        self.contentLanguage = contentLanguage
        self.expires = expires
        self.userMetadata = userMetadata
        self.checksumSHA256 = checksumSHA256
    }
}
