import Foundation

/// What an upload may be: the allowed image types, the size limit, URL lifetimes
/// and the per-user rate limit.
///
/// ```swift
/// var policy = UploadPolicy()
/// policy.maximumSize = 5 << 20
/// ```
public struct UploadPolicy: Sendable {
    /// Allowed content types and the key extension each gets.
    public var allowedTypes: [String: String]
    /// The largest upload in bytes (default 10 MiB).
    public var maximumSize: Int64
    /// The lifetime of upload URLs when the caller asks for none (default 900 s).
    public var uploadURLExpiry: Int
    /// The lifetime of download URLs (default 300 s).
    public var downloadURLExpiry: Int
    /// How long a multipart upload may run before it is aborted on storage (default 24 h); its
    /// part URLs live ``uploadURLExpiry`` each, and never past it.
    public var multipartUploadExpiry: Int = 86_400
    /// URL issuances a user may make per minute on average (default 60).
    public var ratePerMinute: Double
    /// How many a user may make at once before the rate applies (default 20).
    public var burst: Double

    /// The default image types: JPEG, PNG, WebP, GIF, AVIF, and HEIC/HEIF (the servers drop these two
    /// at start when libvips cannot decode them there).
    public static let defaultTypes = ["image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif", "image/avif": "avif",
                                      "image/heic": "heic", "image/heif": "heif"]
    /// The types that need libvips with HEIF support (libheif and an HEVC decoder).
    public static let heifTypes: Set<String> = ["image/heic", "image/heif"]

    /// Creates a policy; the defaults are DESIGN.md's.
    public init(allowedTypes: [String: String] = UploadPolicy.defaultTypes, maximumSize: Int64 = 10 * 1024 * 1024,
                uploadURLExpiry: Int = 900, downloadURLExpiry: Int = 300, ratePerMinute: Double = 60, burst: Double = 20) {
        self.allowedTypes = allowedTypes
        self.maximumSize = maximumSize
        self.uploadURLExpiry = uploadURLExpiry
        self.downloadURLExpiry = downloadURLExpiry
        self.ratePerMinute = ratePerMinute
        self.burst = burst
    }
}
