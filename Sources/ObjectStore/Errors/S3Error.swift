import Hummingbird
import ObjectStoreEngine
import SigV4

/// An error the store answers with: S3's code, message and status, rendered
/// as S3's XML error body.
///
/// ```swift
/// throw S3Error(.noSuchKey, "The specified key does not exist.", resource: "/b/k")
/// ```
public struct S3Error: Error, Sendable, CustomStringConvertible {
    /// S3's error code and its HTTP status.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The code as S3 spells it.
        public let rawValue: String
        /// The HTTP status S3 answers with.
        public let status: Int
        init(_ rawValue: String, _ status: Int) {
            self.rawValue = rawValue
            self.status = status
        }
        public var description: String { rawValue }

        public static let accessDenied = Code("AccessDenied", 403)
        public static let badDigest = Code("BadDigest", 400)
        public static let bucketAlreadyOwnedByYou = Code("BucketAlreadyOwnedByYou", 409)
        public static let bucketNotEmpty = Code("BucketNotEmpty", 409)
        public static let entityTooLarge = Code("EntityTooLarge", 400)
        public static let entityTooSmall = Code("EntityTooSmall", 400)
        public static let noSuchLifecycleConfiguration = Code("NoSuchLifecycleConfiguration", 404)
        public static let noSuchUpload = Code("NoSuchUpload", 404)
        public static let maxPostPreDataLengthExceeded = Code("MaxPostPreDataLengthExceeded", 400)
        public static let malformedPOSTRequest = Code("MalformedPOSTRequest", 400)
        public static let illegalLocationConstraint = Code("IllegalLocationConstraintException", 400)
        public static let incompleteBody = Code("IncompleteBody", 400)
        public static let internalError = Code("InternalError", 500)
        public static let invalidArgument = Code("InvalidArgument", 400)
        public static let invalidBucketName = Code("InvalidBucketName", 400)
        public static let invalidDigest = Code("InvalidDigest", 400)
        public static let invalidPart = Code("InvalidPart", 400)
        public static let invalidRange = Code("InvalidRange", 416)
        public static let invalidRequest = Code("InvalidRequest", 400)
        public static let keyTooLong = Code("KeyTooLongError", 400)
        public static let malformedXML = Code("MalformedXML", 400)
        public static let malformedPolicy = Code("MalformedPolicy", 400)
        public static let noSuchBucketPolicy = Code("NoSuchBucketPolicy", 404)
        public static let noSuchPublicAccessBlockConfiguration = Code("NoSuchPublicAccessBlockConfiguration", 404)
        public static let methodNotAllowed = Code("MethodNotAllowed", 405)
        public static let illegalVersioningConfiguration = Code("IllegalVersioningConfigurationException", 400)
        public static let missingContentLength = Code("MissingContentLength", 411)
        public static let noSuchBucket = Code("NoSuchBucket", 404)
        public static let noSuchCORSConfiguration = Code("NoSuchCORSConfiguration", 404)
        public static let noSuchKey = Code("NoSuchKey", 404)
        public static let notImplemented = Code("NotImplemented", 501)
        public static let notModified = Code("NotModified", 304)
        public static let preconditionFailed = Code("PreconditionFailed", 412)
        public static let xAmzContentSHA256Mismatch = Code("XAmzContentSHA256Mismatch", 400)
        public static let corsForbidden = Code("AccessForbidden", 403)
        public static let badRequest = Code("BadRequest", 400)
        public static let serverSideEncryptionConfigurationNotFound = Code("ServerSideEncryptionConfigurationNotFoundError", 404)
    }

    /// The code.
    public let code: Code
    /// A human-readable message.
    public let message: String
    /// The bucket or object the request was about (`/bucket/key`).
    public var resource: String?
    /// Extra elements S3 adds for some codes (e.g. `Region`, `Key`).
    public var extra: [(String, String)] = []
    /// Extra response headers (e.g. `Content-Range` of a 416).
    public var headers: [(String, String)] = []

    /// Creates an error.
    public init(_ code: Code, _ message: String, resource: String? = nil) {
        self.code = code
        self.message = message
        self.resource = resource
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The error's XML body.
    func xml(requestId: String) -> String {
        var out = XMLWriter()
        out.element("Error") { x in
            x.leaf("Code", code.rawValue)
            x.leaf("Message", message)
            for (name, value) in extra { x.leaf(name, value) }
            if let resource { x.leaf("Resource", resource) }
            x.leaf("RequestId", requestId)
        }
        return out.document
    }
}

extension S3Error {
    /// The HTTP status S3 answers with for an engine error code.
    static func status(of code: StoreError.Code) -> Int {
        switch code {
        case .noSuchBucket, .noSuchKey, .noSuchUpload, .noSuchVersion:
            return 404
        case .methodNotAllowed:
            return 405
        case .bucketAlreadyOwnedByYou, .bucketNotEmpty:
            return 409
        case .invalidBucketName, .keyTooLong, .invalidArgument, .invalidPart, .invalidPartOrder,
             .entityTooSmall, .entityTooLarge, .badDigest, .invalidRequest:
            return 400
        case .preconditionFailed:
            return 412
        default:
            return 500
        }
    }

    /// The store's error for a SigV4 failure (same code, same status).
    init(_ error: SigV4Error, resource: String?) {
        self.init(Code(error.code.rawValue, error.httpStatus), error.message, resource: resource)
    }

    /// The store's error for an engine failure: the engine names S3's code, this layer its status.
    init(_ error: StoreError, resource: String?) {
        self.init(Code(error.code.rawValue, Self.status(of: error.code)), error.message, resource: resource)
        if error.isDeleteMarker { headers.append(("x-amz-delete-marker", "true")) }
        if let versionId = error.versionId { headers.append(("x-amz-version-id", versionId)) }
    }
}
