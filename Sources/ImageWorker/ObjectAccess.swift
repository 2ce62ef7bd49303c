/// What the worker needs to know of a stored object.
public struct ObjectHead: Sendable, Equatable {
    public var size: Int64
    /// Without quotes.
    public var etag: String
    public var contentType: String?
    /// The SHA-256 (base64) stored with the object, when the upload sent one.
    public var checksumSHA256: String?

    public init(size: Int64, etag: String, contentType: String?, checksumSHA256: String?) {
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.checksumSHA256 = checksumSHA256
    }
}

/// The worker's view of the bucket: the embedded store in-process, or any S3 over HTTP.
///
/// `version` names one version of an object in a versioned bucket (the event's `versionId`);
/// `nil` means the latest, as in a bucket that was never versioned.
public protocol ObjectAccess: Sendable {
    /// The object's head, or `nil` when there is no object (or no such version) at `key`.
    func head(_ key: String, version: String?) async throws -> ObjectHead?
    /// Up to the first `count` bytes (fewer when the object is smaller).
    func read(_ key: String, version: String?, first count: Int) async throws -> [UInt8]
    /// Streams the object into the file at `path`.
    func download(_ key: String, version: String?, to path: String) async throws
    /// Stores the file at `path` as `key`.
    func put(_ key: String, file path: String, contentType: String) async throws
    /// Copies `source` (that version of it) to `destination` in the same bucket.
    func copy(_ source: String, version: String?, to destination: String) async throws
    /// Removes the object: with `version`, that version for good; without, the latest (a delete
    /// marker in a versioned bucket). No error when it is already gone.
    func delete(_ key: String, version: String?) async throws
    /// Aborts the multipart upload `uploadId` of `key`, freeing its parts (no error when it is already gone).
    func abortMultipartUpload(_ key: String, uploadId: String) async throws
}

extension ObjectAccess {
    /// The latest version's head.
    public func head(_ key: String) async throws -> ObjectHead? { try await head(key, version: nil) }
}
