/// A request ``S3Client`` made that did not succeed: S3's error code, message
/// and request id, with the HTTP status; or a response the client could not use.
///
/// ```swift
/// do {
///     _ = try await client.headObject(bucket: "b", key: "gone.png")
/// } catch let error as S3ClientError where error.code == .noSuchKey {
///     // not there (any more)
/// }
/// ```
///
/// Connection failures and time-outs are not wrapped: they arrive as
/// AsyncHTTPClient's own errors.
public struct S3ClientError: Error, Sendable, CustomStringConvertible {
    /// S3's error code (`NoSuchKey`, `AccessDenied`, `SignatureDoesNotMatch`, …), or one of
    /// the client's own codes for a response it could not use.
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code as S3 spells it.
        public let rawValue: String
        /// Wraps a code as S3 spells it.
        public init(rawValue: String) { self.rawValue = rawValue }
        init(_ rawValue: String) { self.rawValue = rawValue }
        /// The code as the service spells it.
        public var description: String { rawValue }

        /// The key does not exist (also a `HEAD` answered `404`, which has no body to say more).
        public static let noSuchKey = Code("NoSuchKey")
        /// The bucket does not exist.
        public static let noSuchBucket = Code("NoSuchBucket")
        /// The multipart upload does not exist (never did, or was completed or aborted).
        public static let noSuchUpload = Code("NoSuchUpload")
        /// The credentials may not do this.
        public static let accessDenied = Code("AccessDenied")
        /// The access key id is unknown to the service.
        public static let invalidAccessKeyId = Code("InvalidAccessKeyId")
        /// The signature does not match: usually a wrong secret key.
        public static let signatureDoesNotMatch = Code("SignatureDoesNotMatch")
        /// A condition (`If-Match`, `If-None-Match: *`, …) did not hold.
        public static let preconditionFailed = Code("PreconditionFailed")
        /// The range asked for lies outside the object (an empty object has no byte 0).
        public static let invalidRange = Code("InvalidRange")
        /// A bodiless `403` (a `HEAD` refused): S3 says no more than that.
        public static let forbidden = Code("Forbidden")
        /// Client-side: the body was longer than the caller allowed.
        public static let responseTooLarge = Code("ResponseTooLarge")
        /// Client-side: the body ended before its `Content-Length`, or ran past it.
        public static let incompleteBody = Code("IncompleteBody")
        /// Client-side: the downloaded bytes do not match the object's `x-amz-checksum-sha256`.
        public static let badDigest = Code("BadDigest")
        /// Client-side: the response lacks something it must have (an `ETag`, say) or cannot be read.
        public static let invalidResponse = Code("InvalidResponse")
        /// Client-side: an argument S3 would refuse (metadata that is not ASCII, say).
        public static let invalidArgument = Code("InvalidArgument")
    }

    /// The operation that failed, as S3 names it (`GetObject`, `PutObject`, …).
    public let operation: String
    /// The bucket of the request.
    public let bucket: String
    /// The key of the request (empty for bucket-level requests).
    public let key: String
    /// The HTTP status, or `nil` when the client itself found the problem.
    public let status: Int?
    /// S3's error code.
    public let code: Code
    /// S3's message (or the client's), for people.
    public let message: String
    /// `x-amz-request-id` of the response, for a support case.
    public let requestId: String?

    /// Creates an error.
    public init(operation: String, bucket: String, key: String, status: Int?, code: Code, message: String, requestId: String? = nil) {
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.status = status
        self.code = code
        self.message = message
        self.requestId = requestId
    }

    /// `true` when the object is not there: `NoSuchKey`, or a `HEAD` answered `404`.
    public var isNoSuchKey: Bool { code == .noSuchKey }

    /// One line: operation, object, status, code, message and request id.
    ///
    /// `S3 GetObject article-images/a.png failed: HTTP 404 NoSuchKey: The specified key does not exist. (request id 1A2B…)`
    public var description: String {
        let target = key.isEmpty ? bucket : "\(bucket)/\(key)"
        let statusText = status.map { "HTTP \($0) " } ?? ""
        let request = requestId.map { " (request id \($0))" } ?? ""
        return "S3 \(operation) \(target) failed: \(statusText)\(code.rawValue): \(message)\(request)"
    }
}
