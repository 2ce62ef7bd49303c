import FlatJSON
import Foundation
import Uploads

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
    init(body: [UInt8], policy: UploadPolicy) throws(APIError) {
        contentType = "image/jpeg"
        guard !body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else {
            throw APIError.badRequest("Send a JSON body with at least size (the exact number of bytes you will upload), e.g. {\"contentType\":\"image/jpeg\",\"size\":52133}.")
        }
        let fields: [String: FlatJSON.Value]
        do {
            fields = try FlatJSON.object(body)
        } catch .notAnObject {
            throw APIError.badRequest("The body must be a JSON object.")
        } catch {
            throw APIError.badRequest("The body is not valid JSON.")
        }
        switch fields["contentType"] {
        case nil, .null?: break
        case .string(let text)?: contentType = trimmingSpacesAndTabs(Substring(text)).lowercased()
        default: throw APIError.badRequest("contentType must be a string.")
        }
        guard policy.allowedTypes[contentType] != nil else {
            throw APIError(.unsupportedMediaType, "unsupported_media_type",
                           "The type '\(contentType.prefix(100))' is not allowed; allowed: \(policy.allowedTypes.keys.sorted().joined(separator: ", ")).")
        }
        switch fields["size"] {
        case nil, .null?:
            throw APIError.badRequest("size is required: the exact number of bytes you will upload.")
        case .number(let text)?:
            guard let size = Self.wholeNumber(text) else { throw APIError.badRequest("size must be a whole number of bytes.") }
            guard size > 0 else { throw APIError.badRequest("size must be at least 1 byte.") }
            guard size <= policy.maximumSize else {
                throw APIError(.contentTooLarge, "payload_too_large", "size \(size) is over the limit of \(policy.maximumSize) bytes.")
            }
            self.size = size
        default:
            throw APIError.badRequest("size must be a whole number of bytes.")
        }
        switch fields["articleId"] {
        case nil, .null?: break
        case .string(let text)? where UploadKey.isUUID(text): articleId = text.lowercased()
        default: throw APIError.badRequest("articleId must be a UUID.")
        }
        switch fields["checksumSHA256"] {
        case nil, .null?: break
        case .string(let text)? where Data(base64Encoded: text)?.count == 32:
            checksumSHA256 = Data(base64Encoded: text)?.base64EncodedString()
        default:
            throw APIError.badRequest("checksumSHA256 must be the base64 of a 32-byte SHA-256 digest.")
        }
    }

    /// A JSON number as a whole `Int64`: `52133`, but also `52133.0` or `5.2133e4`; `nil` when
    /// it has a fraction or does not fit.
    static func wholeNumber(_ text: String) -> Int64? {
        if let exact = Int64(text) { return exact }
        guard let value = Double(text), value.isFinite, let whole = Int64(exactly: value) else { return nil }
        return whole
    }
}
