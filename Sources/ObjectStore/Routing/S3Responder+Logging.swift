import Foundation
import HTTPTypes
import Hummingbird
import ObjectStoreEngine
import SigV4
import Synchronization

extension S3Error.Code {
    static let invalidTargetBucketForLogging = S3Error.Code("InvalidTargetBucketForLogging", 400)
}

extension S3Responder {
    // MARK: Put/GetBucketLogging

    /// `PUT /bucket?logging`: turns server access logging on (to an existing target bucket of the
    /// same owner — the store has one) or, with an empty `BucketLoggingStatus`, off.
    func putBucketLogging(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        let data = try await readXMLBody(body, resource: s3.resource)
        try checkSmallBody(data, s3: s3)
        let logging: BucketLogging?
        do {
            logging = try BucketLogging.parse(xml: data)
        } catch var error as S3Error {
            error.resource = s3.resource
            throw error
        }
        if let logging {
            do {
                _ = try await engine.bucket(logging.targetBucket)
            } catch {
                guard error.code == .noSuchBucket else { throw error }
                var refusal = S3Error(.invalidTargetBucketForLogging, "The target bucket for logging does not exist", resource: s3.resource)
                refusal.extra = [("TargetBucket", logging.targetBucket)]
                throw refusal
            }
        }
        try await engine.setBucketConfiguration(bucket, name: BucketLogging.configurationName,
                                                value: try logging.map { try JSONEncoder().encode($0) })
        accessLog?.forget(bucket)
        return Response(status: .ok)
    }

    /// `GET /bucket?logging`: the target, or an empty `BucketLoggingStatus` when logging is off.
    func getBucketLogging(_ s3: S3Request, bucket: String) async throws -> Response {
        let data = try await engine.bucketConfiguration(bucket, name: BucketLogging.configurationName)
        let logging = data.flatMap { try? JSONDecoder().decode(BucketLogging.self, from: $0) }
        return xmlResponse(BucketLogging.xml(logging))
    }

    // MARK: Access log records

    /// Records a finished request in its bucket's access log, if the bucket has logging on.
    ///
    /// Called by ``respond(to:context:)`` once the response (or the error's) status is known;
    /// the body of a GET is still to be streamed, so its bytes sent are its `Content-Length`.
    func recordAccess(_ s3: S3Request, response: Response, error: (any Error)?, requestId: String, arrival: Date,
                      started: ContinuousClock.Instant, signer: AccessLogSigner?, context: Context) async {
        guard let accessLog, let bucket = s3.bucket else { return }
        let succeeded = (200..<300).contains(response.status.code)
        if s3.key == nil, s3.method == "PUT" || s3.method == "DELETE", succeeded { accessLog.forget(bucket) }
        guard let logging = await accessLog.logging(for: bucket) else { return }
        let elapsed = ContinuousClock.now - started
        let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
        let contentLength = response.headers[.contentLength].flatMap { Int64($0) }
        let record = AccessLogRecord(
            bucketOwner: ownerId, bucket: bucket, time: arrival,
            remoteIP: context.channel.remoteAddress?.ipAddress,
            requester: signer?.accessKeyId, requestId: requestId,
            operation: Self.accessLogOperation(s3), key: s3.key,
            method: s3.method, rawPath: s3.rawPath, rawQuery: s3.rawQuery,
            httpStatus: response.status.code, errorCode: error.flatMap(Self.errorCode),
            bytesSent: s3.method == "HEAD" ? nil : (response.body.contentLength.map { Int64($0) } ?? contentLength),
            objectSize: Self.objectSize(s3, response: response, contentLength: contentLength, succeeded: succeeded),
            totalTime: milliseconds, turnaroundTime: milliseconds,
            referrer: s3.header("referer"), userAgent: s3.header("user-agent"),
            versionId: response.headers[.init("x-amz-version-id")!] ?? s3.query["versionId"],
            hostId: requestId,
            signatureVersion: Self.signatureVersion(s3), authenticationType: Self.authenticationType(s3),
            hostHeader: s3.header("host"))
        accessLog.record(record, to: logging)
    }

    /// S3's error code for a thrown error, as ``errorResponse(_:request:method:requestId:logger:)`` answers it.
    static func errorCode(_ error: any Error) -> String? {
        switch error {
        case let e as S3Error: return e.code.status == 304 ? nil : e.code.rawValue
        case let e as StoreError: return e.code.rawValue
        case let e as SigV4Error: return e.code.rawValue
        default: return S3Error.Code.internalError.rawValue
        }
    }

    /// The object's size for a read or write of one: the whole object of a (range) GET or HEAD,
    /// the received size of a PUT or part.
    static func objectSize(_ s3: S3Request, response: Response, contentLength: Int64?, succeeded: Bool) -> Int64? {
        guard s3.key != nil, succeeded else { return nil }
        switch s3.method {
        case "GET", "HEAD":
            guard s3.query["uploadId"] == nil else { return nil }
            if let range = response.headers[.contentRange], let slash = range.lastIndex(of: "/") {
                return Int64(range[range.index(after: slash)...])
            }
            return contentLength
        case "PUT":
            guard s3.header("x-amz-copy-source") == nil else { return nil }
            return (s3.header("x-amz-decoded-content-length") ?? s3.header("content-length")).flatMap { Int64($0) }
        default:
            return nil
        }
    }

    /// `SigV4` for a version-4 signature in a header or the query, `SigV2` for a (refused) version-2 one.
    static func signatureVersion(_ s3: S3Request) -> String? {
        if let authorization = s3.header("authorization") {
            return authorization.hasPrefix("AWS4-") ? "SigV4" : authorization.hasPrefix("AWS ") ? "SigV2" : nil
        }
        if s3.query["X-Amz-Algorithm"] != nil || s3.query["X-Amz-Signature"] != nil { return "SigV4" }
        if s3.query["AWSAccessKeyId"] != nil && s3.query["Signature"] != nil { return "SigV2" }
        return nil
    }

    /// `AuthHeader` for a signed `Authorization` header, `QueryString` for a pre-signed URL.
    static func authenticationType(_ s3: S3Request) -> String? {
        if s3.header("authorization") != nil { return "AuthHeader" }
        if s3.query["X-Amz-Signature"] != nil || s3.query["Signature"] != nil { return "QueryString" }
        return nil
    }

    /// The operation as S3's access logs name it: `REST.<METHOD>.<RESOURCE>`.
    static func accessLogOperation(_ s3: S3Request) -> String {
        let method = s3.method
        if method == "OPTIONS" { return "REST.OPTIONS.PREFLIGHT" }
        let resource: String
        if s3.key != nil {
            let copy = s3.header("x-amz-copy-source") != nil, upload = s3.query["uploadId"] != nil
            switch method {
            case "PUT" where upload: return copy ? "REST.COPY.PART" : "REST.PUT.PART"
            case "PUT" where copy: return "REST.COPY.OBJECT"
            case "POST" where s3.query["uploads"] != nil: resource = "UPLOADS"
            case "GET", "DELETE", "POST": resource = upload ? "UPLOAD" : "OBJECT"
            default: resource = "OBJECT"
            }
        } else if let name = Self.loggedSubresources.first(where: { s3.query[$0.key] != nil }) {
            resource = name.value
        } else if method == "POST" {
            resource = "OBJECT"  // a browser form upload
        } else {
            resource = "BUCKET"
        }
        return "REST.\(Self.bare(method)).\(resource)"
    }

    /// Bucket sub-resources and the names S3's access logs give them, in the order they are matched.
    static let loggedSubresources: KeyValuePairs<String, String> = [
        "logging": "LOGGING_STATUS", "cors": "CORS", "notification": "NOTIFICATION", "lifecycle": "LIFECYCLE",
        "versioning": "VERSIONING", "versions": "BUCKETVERSIONS", "policy": "BUCKETPOLICY",
        "publicAccessBlock": "PUBLIC_ACCESS_BLOCK", "location": "LOCATION", "uploads": "UPLOADS",
        "delete": "MULTI_OBJECT_DELETE", "encryption": "ENCRYPTION", "acl": "ACL", "tagging": "TAGGING",
    ]

    /// A method as a log token (methods are HTTP tokens already; anything else is percent-encoded).
    static func bare(_ method: String) -> String { AccessLogRecord.bare(method) }
}

/// Who signed a request, noted by ``S3Responder/authentication(_:)`` once the signature is
/// verified, for the access log (only the access key id: never the secret or the signature).
final class AccessLogSigner: Sendable {
    private let value = Mutex<String?>(nil)

    /// The capture of the request being answered (bound by ``S3Responder/respond(to:context:)``).
    @TaskLocal static var current: AccessLogSigner?

    /// The verified access key id, or `nil` (anonymous, or the signature was refused).
    var accessKeyId: String? { value.withLock { $0 } }

    /// Notes the verified signer.
    func verified(_ accessKeyId: String) { value.withLock { $0 = accessKeyId } }
}
