import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ObjectStoreEngine
import SigV4

/// The S3 REST API over the storage engine: authentication on every request,
/// dispatch by method, path and sub-resource, S3's XML errors, CORS.
///
/// Path-style addressing: `/bucket` and `/bucket/key`.
public struct S3Responder: HTTPResponder {
    public typealias Context = S3RequestContext

    let engine: StorageEngine
    let verifier: SigV4Verifier
    let region: String
    let clock: @Sendable () -> Date
    let ownerId: String
    let completionKeepAlive: CompletionKeepAlive
    /// Where requests to buckets with logging on are recorded (none: no access logs).
    let accessLog: AccessLogService?

    /// The largest object a single PUT may create (S3: 5 GiB).
    static let maximumPutSize: Int64 = 5 * 1024 * 1024 * 1024
    /// The largest XML request body read (CORS rules, multi-object delete).
    static let maximumXMLBody = 1 << 20

    /// Creates the responder.
    /// - Parameters:
    ///   - engine: where buckets and objects live.
    ///   - credentials: the access keys requests must be signed with.
    ///   - region: the region signatures must be scoped to.
    ///   - clock: the time used for signature expiry and skew.
    ///   - completionKeepAlive: when and how a long CompleteMultipartUpload answers early and keeps its connection busy.
    ///   - accessLog: where server access log records go (run it as a service beside the server).
    public init(engine: StorageEngine, credentials: [SigV4Credentials], region: String = "us-east-1",
                clock: @escaping @Sendable () -> Date = { Date() }, completionKeepAlive: CompletionKeepAlive = .init(),
                accessLog: AccessLogService? = nil) {
        self.engine = engine
        self.accessLog = accessLog
        self.completionKeepAlive = completionKeepAlive
        self.verifier = SigV4Verifier(credentials: StaticCredentialStore(credentials), options: .init(region: region))
        self.region = region
        self.clock = clock
        let digest = SHA256.hash(data: Array((credentials.first?.accessKeyId ?? "hoist").utf8))
        self.ownerId = digest.map { String(format: "%02x", $0) }.joined()
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let requestId = Self.makeRequestId()
        let arrival = clock(), started = ContinuousClock.now, signer = accessLog.map { _ in AccessLogSigner() }
        var s3: S3Request?
        var response: Response
        var failure: (any Error)?
        do {
            let parsed = try S3Request(method: request.method.rawValue, target: request.uri.string, headers: request.headerPairs)
            s3 = parsed
            response = try await AccessLogSigner.$current.withValue(signer) {
                try await route(parsed, request: request, context: context, requestId: requestId)
            }
        } catch {
            failure = error
            response = errorResponse(error, request: s3, method: request.method, requestId: requestId, logger: context.logger)
        }
        response.headers[.init("x-amz-request-id")!] = requestId
        response.headers[.init("x-amz-id-2")!] = requestId
        response.headers[.server] = "Hoist"
        if let s3, s3.method != "OPTIONS" { await applyCORS(to: &response, request: s3) }
        if let s3 {
            await recordAccess(s3, response: response, error: failure, requestId: requestId, arrival: arrival, started: started,
                               signer: signer, context: context)
        }
        return response
    }

    /// A 16-character uppercase hex request id.
    static func makeRequestId() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    // MARK: Dispatch

    func route(_ s3: S3Request, request: Request, context: Context, requestId: String) async throws -> Response {
        if s3.method == "OPTIONS" {
            return try await preflight(s3)
        }
        if s3.method == "POST", let bucket = s3.bucket, s3.key == nil, s3.query.isEmpty, Self.isFormUpload(s3) {
            // A browser form upload: authenticated by its signed policy, not by a header or query
            // signature, so its body is needed to decide.
            await askForBody(s3, context)
            return try await postObject(s3, bucket: bucket, body: request.body)
        }
        guard let auth = try authentication(s3) else {
            // Unsigned: only what the bucket's policy grants to everyone (public reads).
            return try await anonymousRead(s3)
        }
        // Authenticated: now the body may come (a refused request never had it sent).
        await askForBody(s3, context)

        guard let bucket = s3.bucket else {
            guard s3.method == "GET" else { throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.", resource: "/") }
            return try await listBuckets()
        }
        if let key = s3.key {
            switch s3.method {
            case "PUT":
                if let uploadId = s3.query["uploadId"] {
                    if s3.header("x-amz-copy-source") != nil {
                        return try await uploadPartCopy(s3, bucket: bucket, key: key, uploadId: uploadId)
                    }
                    return try await uploadPart(s3, auth: auth, bucket: bucket, key: key, uploadId: uploadId, body: request.body)
                }
                if s3.query["partNumber"] != nil {
                    throw S3Error(.invalidArgument, "A part number needs an uploadId.", resource: s3.resource)
                }
                if s3.header("x-amz-copy-source") != nil {
                    return try await copyObject(s3, bucket: bucket, key: key)
                }
                return try await putObject(s3, auth: auth, bucket: bucket, key: key, body: request.body)
            case "GET":
                if let uploadId = s3.query["uploadId"] { return try await listParts(s3, bucket: bucket, key: key, uploadId: uploadId) }
                return try await getObject(s3, bucket: bucket, key: key, head: false)
            case "HEAD": return try await getObject(s3, bucket: bucket, key: key, head: true)
            case "DELETE":
                if let uploadId = s3.query["uploadId"] { return try await abortMultipartUpload(s3, bucket: bucket, key: key, uploadId: uploadId) }
                return try await deleteObject(s3, bucket: bucket, key: key)
            case "POST":
                if s3.query["uploads"] != nil { return try await createMultipartUpload(s3, bucket: bucket, key: key) }
                if let uploadId = s3.query["uploadId"] {
                    return try await completeMultipartUpload(s3, bucket: bucket, key: key, uploadId: uploadId, body: request.body,
                                                             requestId: requestId)
                }
                throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.", resource: s3.resource)
            default: throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.", resource: s3.resource)
            }
        }
        switch s3.method {
        case "PUT":
            if s3.query["cors"] != nil { return try await putBucketCORS(s3, bucket: bucket, body: request.body) }
            if s3.query["notification"] != nil { return try await putBucketNotification(s3, bucket: bucket, body: request.body) }
            if s3.query["lifecycle"] != nil { return try await putBucketLifecycle(s3, bucket: bucket, body: request.body) }
            if s3.query["versioning"] != nil { return try await putBucketVersioning(s3, bucket: bucket, body: request.body) }
            if s3.query["policy"] != nil { return try await putBucketPolicy(s3, bucket: bucket, body: request.body) }
            if s3.query["publicAccessBlock"] != nil { return try await putPublicAccessBlock(s3, bucket: bucket, body: request.body) }
            if s3.query["encryption"] != nil { return try await putBucketEncryption(s3, bucket: bucket, body: request.body) }
            if s3.query["logging"] != nil { return try await putBucketLogging(s3, bucket: bucket, body: request.body) }
            try rejectUnsupportedSubresource(s3)
            return try await createBucket(s3, bucket: bucket, body: request.body)
        case "GET":
            if s3.query["cors"] != nil { return try await getBucketCORS(s3, bucket: bucket) }
            if s3.query["notification"] != nil {
                return xmlResponse(NotificationXML.render(try await engine.notificationConfiguration(bucket)))
            }
            if s3.query["location"] != nil { return try await getBucketLocation(s3, bucket: bucket) }
            if s3.query["lifecycle"] != nil { return try await getBucketLifecycle(s3, bucket: bucket) }
            if s3.query["uploads"] != nil { return try await listMultipartUploads(s3, bucket: bucket) }
            if s3.query["versioning"] != nil { return try await getBucketVersioning(s3, bucket: bucket) }
            if s3.query["versions"] != nil { return try await listObjectVersions(s3, bucket: bucket) }
            if s3.query["policy"] != nil { return try await getBucketPolicy(s3, bucket: bucket) }
            if s3.query["publicAccessBlock"] != nil { return try await getPublicAccessBlock(s3, bucket: bucket) }
            if s3.query["encryption"] != nil { return try await getBucketEncryption(s3, bucket: bucket) }
            if s3.query["logging"] != nil { return try await getBucketLogging(s3, bucket: bucket) }
            try rejectUnsupportedSubresource(s3)
            return try await listObjects(s3, bucket: bucket, version2: s3.query["list-type"] == "2")
        case "HEAD":
            _ = try await engine.bucket(bucket)
            return Response(status: .ok, headers: [.init("x-amz-bucket-region")!: region])
        case "DELETE":
            if s3.query["cors"] != nil { return try await deleteBucketCORS(s3, bucket: bucket) }
            if s3.query["lifecycle"] != nil { return try await deleteBucketLifecycle(s3, bucket: bucket) }
            if s3.query["policy"] != nil { return try await deleteBucketConfiguration(s3, bucket: bucket, name: "policy") }
            if s3.query["publicAccessBlock"] != nil {
                return try await deleteBucketConfiguration(s3, bucket: bucket, name: "publicAccessBlock")
            }
            if s3.query["encryption"] != nil {
                try await engine.setDefaultEncryption(bucket, false)
                return Response(status: .noContent)
            }
            try rejectUnsupportedSubresource(s3)
            try await engine.deleteBucket(bucket)
            return Response(status: .noContent)
        case "POST":
            if s3.query["delete"] != nil { return try await deleteObjects(s3, bucket: bucket, body: request.body) }
            if Self.isFormUpload(s3) {
                throw S3Error(.invalidArgument, "POST requires exactly one file upload per request, to a bucket URL without a query.", resource: s3.resource)
            }
            throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.", resource: s3.resource)
        default:
            throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.", resource: s3.resource)
        }
    }

    /// Bucket sub-resources this store does not implement yet.
    static let unsupportedSubresources = ["acl", "tagging",
                                          "website", "replication", "ownershipControls",
                                          "object-lock", "accelerate", "requestPayment", "inventory",
                                          "analytics", "metrics", "intelligent-tiering"]

    func rejectUnsupportedSubresource(_ s3: S3Request) throws {
        // Answered for the methods S3 has for them; any other method must not fall through to the bucket itself.
        if s3.query["versioning"] != nil || s3.query["versions"] != nil || s3.query["logging"] != nil {
            throw S3Error(.methodNotAllowed, "The specified method is not allowed against this resource.", resource: s3.resource)
        }
        if let name = Self.unsupportedSubresources.first(where: { s3.query[$0] != nil }) {
            throw notImplemented("The bucket sub-resource '\(name)'", s3)
        }
    }

    func notImplemented(_ what: String, _ s3: S3Request) -> S3Error {
        S3Error(.notImplemented, "\(what) is not implemented by this store yet.", resource: s3.resource)
    }

    // MARK: Authentication

    /// Sends `100 Continue` to a request that waits for it before sending its body.
    func askForBody(_ s3: S3Request, _ context: Context) async {
        guard s3.header("expect")?.lowercased() == "100-continue" else { return }
        await context.askForBody()
    }

    /// Signature Version 2 query auth (`AWSAccessKeyId`, `Signature`, `Expires`) is refused with a clear error.
    func rejectSignatureVersion2(_ s3: S3Request) throws {
        if s3.query["AWSAccessKeyId"] != nil && s3.query["Signature"] != nil {
            throw S3Error(.invalidRequest, "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256 (boto3: Config(signature_version='s3v4')).", resource: s3.resource)
        }
    }

    /// Verifies and returns the authentication (PUT needs the payload hash and seed signature);
    /// `nil` for an unsigned request, which only a bucket policy can let in (``anonymousRead(_:)``).
    func authentication(_ s3: S3Request) throws -> SigV4Authentication? {
        try rejectSignatureVersion2(s3)
        do {
            let auth = try verifier.verify(s3.received, now: clock())
            if let auth { AccessLogSigner.current?.verified(auth.accessKeyId) }
            return auth
        } catch {
            // `verify` throws only SigV4Error (typed throws).
            throw S3Error(error, resource: s3.resource)
        }
    }

    // MARK: Errors

    func errorResponse(_ error: any Error, request s3: S3Request?, method: HTTPRequest.Method, requestId: String, logger: Logger) -> Response {
        var s3Error: S3Error
        switch error {
        case let e as S3Error: s3Error = e
        case let e as StoreError: s3Error = S3Error(e, resource: s3?.resource)
        case let e as SigV4Error: s3Error = S3Error(e, resource: s3?.resource)
        default:
            logger.error("internal error", metadata: ["error": "\(error)", "s3.resource": "\(s3?.resource ?? "?")"])
            s3Error = S3Error(.internalError, "We encountered an internal error. Please try again.", resource: s3?.resource)
        }
        if s3Error.resource == nil { s3Error.resource = s3?.resource }
        var headers: HTTPFields = [:]
        for (name, value) in s3Error.headers { headers[HTTPField.Name(name)!] = value }
        let status = HTTPResponse.Status(code: s3Error.code.status)
        if method == .head || s3Error.code.status == 304 {
            return Response(status: status, headers: headers)
        }
        headers[.contentType] = "application/xml"
        let body = s3Error.xml(requestId: requestId)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// An XML response.
    func xmlResponse(_ document: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/xml"], body: ResponseBody(byteBuffer: ByteBuffer(string: document)))
    }

    // MARK: CORS

    func corsConfiguration(_ bucket: String) async -> CORSConfiguration? {
        guard let data = try? await engine.bucketConfiguration(bucket, name: "cors") else { return nil }
        return try? JSONDecoder().decode(CORSConfiguration.self, from: data)
    }

    /// `OPTIONS` preflight, answered from the bucket's rules without authentication.
    func preflight(_ s3: S3Request) async throws -> Response {
        guard let bucket = s3.bucket else {
            throw S3Error(.badRequest, "Insufficient information. Origin request header needed.", resource: s3.resource)
        }
        guard let origin = s3.header("origin") else {
            throw S3Error(.badRequest, "Insufficient information. Origin request header needed.", resource: s3.resource)
        }
        guard let method = s3.header("access-control-request-method") else {
            throw S3Error(.badRequest, "Invalid Access-Control-Request-Method: null", resource: s3.resource)
        }
        _ = try await engine.bucket(bucket)
        let requested = (s3.header("access-control-request-headers") ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        guard let configuration = await corsConfiguration(bucket) else {
            throw S3Error(.corsForbidden, "CORSResponse: CORS is not enabled for this bucket.", resource: s3.resource)
        }
        guard let rule = configuration.rule(origin: origin, method: method, headers: requested) else {
            throw S3Error(.corsForbidden, "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.", resource: s3.resource)
        }
        var headers = corsHeaders(rule: rule, origin: origin)
        headers[.init("Access-Control-Allow-Methods")!] = rule.allowedMethods.joined(separator: ", ")
        if !requested.isEmpty { headers[.init("Access-Control-Allow-Headers")!] = requested.joined(separator: ", ") }
        headers[.init("Vary")!] = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
        return Response(status: .ok, headers: headers)
    }

    func corsHeaders(rule: CORSConfiguration.Rule, origin: String) -> HTTPFields {
        var headers: HTTPFields = [:]
        let any = rule.allowedOrigins.contains("*")
        headers[.init("Access-Control-Allow-Origin")!] = any ? "*" : origin
        if !any { headers[.init("Access-Control-Allow-Credentials")!] = "true" }
        if !rule.exposeHeaders.isEmpty { headers[.init("Access-Control-Expose-Headers")!] = rule.exposeHeaders.joined(separator: ", ") }
        if let age = rule.maxAgeSeconds { headers[.init("Access-Control-Max-Age")!] = String(age) }
        return headers
    }

    /// CORS headers on an actual (non-preflight) response, errors included, as S3 does.
    func applyCORS(to response: inout Response, request s3: S3Request) async {
        guard let origin = s3.header("origin"), let bucket = s3.bucket,
              let configuration = await corsConfiguration(bucket),
              let rule = configuration.rule(origin: origin, method: s3.method) else { return }
        for field in corsHeaders(rule: rule, origin: origin) { response.headers[field.name] = field.value }
        response.headers[.init("Access-Control-Allow-Methods")!] = rule.allowedMethods.joined(separator: ", ")
        response.headers[.init("Vary")!] = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
    }
}

extension AMZDate {
    /// `yyyy-MM-dd'T'HH:mm:ss.000Z`, as S3 writes times in XML.
    var xmlTimestamp: String {
        var text = iso8601String
        text.removeLast()
        return text + ".000Z"
    }
}
