/// A storage engine failure, with the S3 error code the HTTP layer answers with.
///
/// The code is stable and machine-readable: the S3 layer writes it into the
/// `<Code>` of its XML error; the HTTP layer picks the status.
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
            case noSuchUpload = "NoSuchUpload"
            case invalidPart = "InvalidPart"
            case invalidPartOrder = "InvalidPartOrder"
            case entityTooSmall = "EntityTooSmall"
            case entityTooLarge = "EntityTooLarge"
            case badDigest = "BadDigest"
            case noSuchVersion = "NoSuchVersion"
            case methodNotAllowed = "MethodNotAllowed"
            case invalidRequest = "InvalidRequest"
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
        /// The multipart upload does not exist: never created, completed or aborted.
        public static let noSuchUpload = Code(.noSuchUpload)
        /// A part named in a completion is missing or its ETag differs.
        public static let invalidPart = Code(.invalidPart)
        /// The parts of a completion are not in ascending order.
        public static let invalidPartOrder = Code(.invalidPartOrder)
        /// A part other than the last is smaller than 5 MiB, or a form upload is below its policy's minimum.
        public static let entityTooSmall = Code(.entityTooSmall)
        /// An upload is larger than allowed.
        public static let entityTooLarge = Code(.entityTooLarge)
        /// A checksum the client sent does not match the bytes.
        public static let badDigest = Code(.badDigest)

        /// The version named by a `versionId` does not exist.
        public static let noSuchVersion = Code(.noSuchVersion)
        /// The version named by a `versionId` is a delete marker, which cannot be read.
        public static let methodNotAllowed = Code(.methodNotAllowed)
        /// The request cannot be carried out as asked (e.g. copying from a delete marker).
        public static let invalidRequest = Code(.invalidRequest)

        /// The code as S3 spells it.
        public var rawValue: String { value.rawValue }
        /// The code as S3 spells it.
        public var description: String { value.rawValue }
    }

    /// S3's error code.
    public let code: Code
    /// A human-readable explanation, safe to show to the client.
    public let message: String
    /// Set when the error is about a delete marker (S3 then answers `x-amz-delete-marker: true`).
    public var isDeleteMarker = false
    /// The version the error is about, when S3 names it (`x-amz-version-id`).
    public var versionId: String?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: S3's error code.
    ///   - message: A human-readable explanation, safe to show to the client.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `Code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}

extension StoreError {
    static func noSuchBucket(_ name: String) -> StoreError {
        StoreError(.noSuchBucket, "The specified bucket does not exist: \(name)")
    }

    static let noSuchKey = StoreError(.noSuchKey, "The specified key does not exist.")

    static let noSuchVersion = StoreError(.noSuchVersion, "The specified version does not exist.")

    static let noSuchUpload = StoreError(.noSuchUpload, "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")

    static func internalError(_ what: String, _ error: any Error) -> StoreError {
        if let storeError = error as? StoreError { return storeError }
        return StoreError(.internalError, "\(what): \(error)")
    }
}
