import Auth
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The upload API's routes: `POST /upload-url`, `GET /download-url`,
/// `GET /articles/{articleId}/uploads`, `GET /policy`, behind bearer-token auth.
///
/// ```swift
/// let router = Router()
/// UploadsAPI(service: service, verifier: verifier).addRoutes(to: router)
/// ```
public struct UploadsAPI: Sendable {
    let service: UploadService
    let verifier: any TokenVerifier

    /// Creates the API.
    public init(service: UploadService, verifier: any TokenVerifier) {
        self.service = service
        self.verifier = verifier
    }

    /// Adds the routes.
    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("upload-url") { request, context in
            try await self.uploadURL(request, context: context)
        }
        router.get("download-url") { request, context in
            let user = try await self.authenticate(request)
            return try Self.json(await self.service.issueDownloadURL(for: user, key: request.uri.queryParameters.get("key")))
        }
        router.get("articles/:articleId/uploads") { request, context in
            let user = try await self.authenticate(request)
            let articleId = context.parameters.get("articleId") ?? ""
            let uploads = try await self.service.uploads(for: user, articleId: articleId)
            return try Self.json(ArticleUploads(articleId: articleId.lowercased(), uploads: uploads.map { record in
                ArticleUploads.Item(record, derivedURLs: self.service.derivedURLs(record))
            }))
        }
        router.get("policy") { _, _ in
            let policy = self.service.currentPolicy
            return try Self.json(PolicyDocument(allowedTypes: policy.allowedTypes.keys.sorted(), maximumSize: policy.maximumSize,
                                                uploadURLExpiry: policy.uploadURLExpiry))
        }
    }

    func uploadURL(_ request: Request, context: some RequestContext) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let user = try await authenticate(request)
            if let length = request.headers.value(of: .contentLength).flatMap(Int.init), length > UploadURLRequest.maximumBody {
                throw APIError(.contentTooLarge, "payload_too_large", "The request body is over \(UploadURLRequest.maximumBody / 1024) KiB.")
            }
            var request = request
            let buffer: ByteBuffer
            do {
                buffer = try await request.collectBody(upTo: UploadURLRequest.maximumBody)
            } catch {
                throw APIError(.contentTooLarge, "payload_too_large", "The request body is over \(UploadURLRequest.maximumBody / 1024) KiB.")
            }
            let response = try await service.issueUploadURL(for: user, body: Array(buffer.readableBytesView))
            service.metrics.request(outcome: "issued")
            service.metrics.issuance.recordNanoseconds(Int64((ContinuousClock.now - start).components.attoseconds / 1_000_000_000
                                                             + (ContinuousClock.now - start).components.seconds * 1_000_000_000))
            return Self.jsonResponse(response.jsonText)
        } catch let error as APIError {
            service.metrics.request(outcome: error.code)
            throw error
        }
    }

    /// The caller, from `Authorization: Bearer <token>`.
    func authenticate(_ request: Request) async throws(APIError) -> AuthenticatedUser {
        guard let header = request.headers.value(of: .authorization) else {
            var error = APIError(.unauthorized, "missing_token", "Sign in: send Authorization: Bearer <token>.")
            error.headers = [("WWW-Authenticate", "Bearer realm=\"hoist\"")]
            throw error
        }
        // Split and trim on bytes: Foundation's trimmingCharacters is slow for a 1 KB token on Linux.
        let parts = header.split(separator: " ", maxSplits: 1)
        let token = parts.count == 2 ? Self.trimmed(parts[1]) : ""
        guard parts.count == 2, parts[0].lowercased() == "bearer", !token.isEmpty else {
            var error = APIError(.unauthorized, "malformed_token", "The Authorization header must be 'Bearer <token>'.")
            error.headers = [("WWW-Authenticate", "Bearer realm=\"hoist\", error=\"invalid_request\"")]
            throw error
        }
        do {
            return try await verifier.verify(token)
        } catch {
            if error.code == .jwksUnavailable {
                throw APIError(.serviceUnavailable, error.code.rawValue, error.message)
            }
            var apiError = APIError(.unauthorized, error.code.rawValue, error.message)
            let description = error.message.replacingOccurrences(of: "\"", with: "'")
            apiError.headers = [("WWW-Authenticate", "Bearer realm=\"hoist\", error=\"invalid_token\", error_description=\"\(description)\"")]
            throw apiError
        }
    }

    /// `text` without leading and trailing spaces and tabs, found on UTF-8 bytes.
    static func trimmed(_ text: Substring) -> String {
        let utf8 = text.utf8
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end, utf8[start] == UInt8(ascii: " ") || utf8[start] == UInt8(ascii: "\t") { start = utf8.index(after: start) }
        while end > start {
            let before = utf8.index(before: end)
            guard utf8[before] == UInt8(ascii: " ") || utf8[before] == UInt8(ascii: "\t") else { break }
            end = before
        }
        return String(Substring(utf8[start..<end]))
    }

    /// A JSON response from text already encoded.
    static func jsonResponse(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// `GET /articles/{id}/uploads`.
struct ArticleUploads: Codable {
    struct Item: Codable {
        var key: String
        var contentType: String
        var size: Int64?
        var issuedAt: Date
        var status: String
        var reason: String?
        var width: Int?
        var height: Int?
        var uploadedAt: Date?
        var processedAt: Date?
        /// Derived images by name (`thumbnail`, `web`): key and a pre-signed GET URL.
        var derived: [String: DerivedImage]?

        struct DerivedImage: Codable {
            var key: String
            var url: String
        }

        init(_ record: UploadRecord, derivedURLs: [String: String] = [:]) {
            key = record.key
            contentType = record.contentType
            size = record.size
            issuedAt = record.issuedAt
            status = record.status
            reason = record.reason
            width = record.width
            height = record.height
            uploadedAt = record.uploadedAt
            processedAt = record.processedAt
            let images = record.derived.compactMapValues { key in derivedURLs[key].map { DerivedImage(key: key, url: $0) } }
            derived = images.isEmpty ? nil : images
        }
    }
    var articleId: String
    var uploads: [Item]
}

/// `GET /policy`: the limits a client can check files against before uploading.
struct PolicyDocument: Codable {
    var allowedTypes: [String]
    var maximumSize: Int64
    var uploadURLExpiry: Int
}

extension HTTPFields {
    /// The value of the field `name`, as `self[name]` gives it (several fields joined with
    /// ", "), without that subscript's generic join in the common case of one field.
    public func value(of name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            guard found == nil else { return self[name] }
            found = field.value
        }
        return found
    }
}
