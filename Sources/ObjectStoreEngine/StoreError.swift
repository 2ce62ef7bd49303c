/// A storage engine failure, with the S3 error code the HTTP layer answers with.
///
/// The code is stable and machine-readable: the S3 layer writes it into the
/// `<Code>` of its XML error and answers with ``httpStatus``.
///
/// ```swift
/// do { _ = try engine.head(bucket: "photos", key: "a.jpg") }
/// catch let error where error.code == .noSuchKey { … }
/// ```
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// S3's error code, e.g. `NoSuchKey`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case noSuchBucket = "NoSuchBucket"
            case noSuchKey = "NoSuchKey"
            case bucketAlreadyOwnedByYou = "BucketAlreadyOwnedByYou"
            case bucketNotEmpty = "BucketNotEmpty"
            case invalidBucketName = "InvalidBucketName"
            case keyTooLong = "KeyTooLongError"
            case preconditionFailed = "PreconditionFailed"
            case invalidArgument = "InvalidArgument"
            case internalError = "InternalError"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The bucket does not exist.
        public static let noSuchBucket = Code(.noSuchBucket)
        /// The object does not exist.
        public static let noSuchKey = Code(.noSuchKey)
        /// The bucket already exists (and, the store having one owner, is yours).
        public static let bucketAlreadyOwnedByYou = Code(.bucketAlreadyOwnedByYou)
        /// The bucket still holds objects and cannot be deleted.
        public static let bucketNotEmpty = Code(.bucketNotEmpty)
        /// The bucket name breaks S3's naming rules.
        public static let invalidBucketName = Code(.invalidBucketName)
        /// The object key is longer than 1024 bytes of UTF-8.
        public static let keyTooLong = Code(.keyTooLong)
        /// A write condition (`If-None-Match: *`, `If-Match`) does not hold.
        public static let preconditionFailed = Code(.preconditionFailed)
        /// An argument is invalid: an empty key, a reused upload, a negative offset.
        public static let invalidArgument = Code(.invalidArgument)
        /// The store failed: a file system or database error.
        public static let internalError = Code(.internalError)

        /// The code as S3 spells it.
        public var rawValue: String { value.rawValue }
        /// The code as S3 spells it.
        public var description: String { value.rawValue }
    }

    /// S3's error code.
    public let code: Code
    /// A human-readable explanation, safe to show to the client.
    public let message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: S3's error code.
    ///   - message: A human-readable explanation, safe to show to the client.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The HTTP status S3 answers with for this code.
    public var httpStatus: Int {
        switch code {
        case .noSuchBucket, .noSuchKey:
            return 404
        case .bucketAlreadyOwnedByYou, .bucketNotEmpty:
            return 409
        case .invalidBucketName, .keyTooLong, .invalidArgument:
            return 400
        case .preconditionFailed:
            return 412
        default:
            return 500
        }
    }

    /// `Code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}

extension StoreError {
    static func noSuchBucket(_ name: String) -> StoreError {
        StoreError(.noSuchBucket, "The specified bucket does not exist: \(name)")
    }

    static let noSuchKey = StoreError(.noSuchKey, "The specified key does not exist.")

    static func internalError(_ what: String, _ error: any Error) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        return StoreError(.internalError, "\(what): \(error)")
    }
}
