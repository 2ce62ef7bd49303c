import Auth
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Uploads

/// The upload API's routes: `POST /upload-url`, `GET /download-url`,
/// `GET /articles/{articleId}/uploads` behind bearer-token auth (``BearerAuthenticator``
/// fills the request context's user), and the public `GET /policy`.
///
/// ```swift
/// let router = Router(context: APIRequestContext.self)
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
    public func addRoutes<Context: AuthenticatedRequestContext>(to router: Router<Context>) {
        let authenticator = BearerAuthenticator<Context>(verifier: verifier)
        // Outcomes are counted outside the authenticator, so refused tokens count too.
        router.group("upload-url")
            .add(middleware: IssuanceMetrics<Context>(metrics: service.metrics))
            .add(middleware: authenticator)
            .post { request, context in
                try await self.uploadURL(request, user: context.requireUser())
            }
        let signedIn = router.group().add(middleware: authenticator)
        signedIn.get("download-url") { request, context in
            try APIJSON.response(await self.service.issueDownloadURL(for: context.requireUser(),
                                                                     key: request.uri.queryParameters.get("key")))
        }
        signedIn.get("articles/:articleId/uploads") { _, context in
            let articleId = context.parameters.get("articleId") ?? ""
            let uploads = try await self.service.uploads(for: context.requireUser(), articleId: articleId)
            var items: [ArticleUploads.Item] = []
            items.reserveCapacity(uploads.count)
            for record in uploads {
                items.append(ArticleUploads.Item(record, derivedURLs: await self.service.derivedURLs(record)))
            }
            return try APIJSON.response(ArticleUploads(articleId: articleId.lowercased(), uploads: items))
        }
        addMultipartRoutes(to: signedIn)
        router.get("policy") { _, _ in
            let policy = self.service.currentPolicy
            return try APIJSON.response(PolicyDocument(allowedTypes: policy.allowedTypes.keys.sorted(), maximumSize: policy.maximumSize,
                                                       uploadURLExpiry: policy.uploadURLExpiry))
        }
    }

    func uploadURL(_ request: Request, user: AuthenticatedUser) async throws -> Response {
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
        // The hot path writes its JSON by hand: JSONEncoder costs more than the signature (api_bench).
        return APIJSON.response(bytes: ByteBuffer(string: response.jsonText))
    }
}

/// Counts `POST /upload-url` by outcome (`issued` or the error code) and times the issued ones.
struct IssuanceMetrics<Context: RequestContext>: RouterMiddleware {
    let metrics: UploadMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.request(outcome: "issued")
            let elapsed = (ContinuousClock.now - start).components
            metrics.issuance.recordNanoseconds(elapsed.seconds * 1_000_000_000 + elapsed.attoseconds / 1_000_000_000)
            return response
        } catch let error as APIError {
            metrics.request(outcome: error.code)
            throw error
        }
    }
}

/// `GET /articles/{id}/uploads`.
struct ArticleUploads: Codable {
    struct Item: Codable {
        var key: String
        var contentType: String
        var size: Int64?
        var issuedAt: Date
        var status: UploadStatus
        var reason: String?
        var width: Int?
        var height: Int?
        var uploadedAt: Date?
        var processedAt: Date?
        /// Derived images by name (`thumbnail`, `web`): key and a pre-signed GET URL.
        var derived: [String: DerivedImage]?
        /// The responsive variants, narrowest first, each with a pre-signed GET URL (for `srcset`).
        var variants: [Variant]?
        /// A tiny preview as a `data:image/webp;base64,…` URL.
        var placeholder: String?
        /// Whether the original held a GPS position that the derived images do not carry.
        var locationRemoved: Bool

        struct DerivedImage: Codable {
            var key: String
            var url: String
        }

        struct Variant: Codable {
            var width: Int
            var height: Int
            var format: String
            var contentType: String
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
            let listed = record.variants.compactMap { variant in
                derivedURLs[variant.key].map {
                    Variant(width: variant.width, height: variant.height, format: variant.format.rawValue,
                            contentType: variant.format.contentType, key: variant.key, url: $0)
                }
            }
            variants = listed.isEmpty ? nil : listed
            placeholder = record.placeholder
            locationRemoved = record.locationRemoved
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
