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
    /// `AES256` when the object's bytes are encrypted at rest (SSE-S3); `nil` when they are not.
    ///
    /// The engine sets it from how it wrote the bytes (``StorageEngine/beginUpload(bucket:serverSideEncryption:)``,
    /// a bucket's default encryption); a value given to a commit is replaced.
    public var serverSideEncryption: String?

    /// The ``serverSideEncryption`` of encrypted objects.
    public static let aes256 = "AES256"

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
