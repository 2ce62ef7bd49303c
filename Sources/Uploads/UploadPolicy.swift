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
    /// URL issuances a user may make per minute on average (default 60).
    public var ratePerMinute: Double
    /// How many a user may make at once before the rate applies (default 20).
    public var burst: Double

    /// The default image types: JPEG, PNG, WebP, GIF, AVIF.
    public static let defaultTypes = ["image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif", "image/avif": "avif"]

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

/// A validated `POST /upload-url` request.
struct UploadURLRequest: Sendable {
    var contentType: String
    var size: Int64?
    var articleId: String?
    var checksumSHA256: String?

    /// The largest request body read.
    static let maximumBody = 16 * 1024

    /// Parses and validates the JSON body. Unknown fields are ignored.
    ///
    /// `contentType` defaults to `image/jpeg` and `articleId` to a new article, as
    /// the original Lambda did; but `size` is required, even though that Lambda took
    /// requests with no body: without it the URL could not bind `Content-Length`,
    /// and storage could not enforce the size limit.
    init(body: Data, policy: UploadPolicy) throws(APIError) {
        contentType = "image/jpeg"
        guard !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else {
            throw APIError.badRequest("Send a JSON body with at least size (the exact number of bytes you will upload), e.g. {\"contentType\":\"image/jpeg\",\"size\":52133}.")
        }
        guard let object = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) else {
            throw APIError.badRequest("The body is not valid JSON.")
        }
        guard let fields = object as? [String: Any] else {
            throw APIError.badRequest("The body must be a JSON object.")
        }
        if let value = fields["contentType"], !(value is NSNull) {
            guard let text = value as? String else { throw APIError.badRequest("contentType must be a string.") }
            contentType = text.trimmingCharacters(in: .whitespaces).lowercased()
        }
        guard policy.allowedTypes[contentType] != nil else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "The type '\(contentType.prefix(100))' is not allowed; allowed: \(policy.allowedTypes.keys.sorted().joined(separator: ", ")).")
        }
        if let value = fields["size"], !(value is NSNull) {
            guard let number = value as? NSNumber, !isJSONBool(number),
                  let size = Int64(exactly: number.doubleValue), Double(size) == number.doubleValue else {
                throw APIError.badRequest("size must be a whole number of bytes.")
            }
            guard size > 0 else { throw APIError.badRequest("size must be at least 1 byte.") }
            guard size <= policy.maximumSize else {
                throw APIError(.contentTooLarge, "payload_too_large", "size \(size) is over the limit of \(policy.maximumSize) bytes.")
            }
            self.size = size
        } else {
            throw APIError.badRequest("size is required: the exact number of bytes you will upload.")
        }
        if let value = fields["articleId"], !(value is NSNull) {
            guard let text = value as? String, let uuid = UUID(uuidString: text) else {
                throw APIError.badRequest("articleId must be a UUID.")
            }
            articleId = uuid.uuidString.lowercased()
        }
        if let value = fields["checksumSHA256"], !(value is NSNull) {
            guard let text = value as? String, let bytes = Data(base64Encoded: text), bytes.count == 32 else {
                throw APIError.badRequest("checksumSHA256 must be the base64 of a 32-byte SHA-256 digest.")
            }
            checksumSHA256 = bytes.base64EncodedString()
        }
    }
}

/// Whether an `NSNumber` came from a JSON `true`/`false` (Foundation stores those as `char`).
func isJSONBool(_ number: NSNumber) -> Bool {
    String(cString: number.objCType) == "c"
}
