import S3

/// The storage calls of a multipart upload that the API makes itself (the parts go straight
/// from the client to storage through pre-signed URLs). ``S3MultipartStorage`` makes them
/// with the project's S3 client; tests use an in-memory one.
public protocol MultipartStorage: Sendable {
    /// Starts an upload of `key`; returns the upload id.
    func create(key: String, contentType: String, checksumSHA256: Bool) async throws -> String
    /// Every part uploaded so far, by part number.
    func parts(key: String, uploadId: String) async throws -> [S3Part]
    /// Completes the upload from `parts`; returns the object's ETag (no quotes).
    func complete(key: String, uploadId: String, parts: [S3Part]) async throws -> String
    /// Aborts the upload.
    func abort(key: String, uploadId: String) async throws
}

/// ``MultipartStorage`` on any S3 over HTTP: AWS S3, Ceph RGW, or `hoist serve`'s embedded store.
public struct S3MultipartStorage: MultipartStorage {
    let client: S3Client
    let bucket: String

    /// The storage of `bucket` through `client`.
    public init(client: S3Client, bucket: String) {
        self.client = client
        self.bucket = bucket
    }

    public func create(key: String, contentType: String, checksumSHA256: Bool) async throws -> String {
        try await client.createMultipartUpload(bucket: bucket, key: key, contentType: contentType, checksumSHA256: checksumSHA256)
    }

    public func parts(key: String, uploadId: String) async throws -> [S3Part] {
        try await client.listAllParts(bucket: bucket, key: key, uploadId: uploadId)
    }

    public func complete(key: String, uploadId: String, parts: [S3Part]) async throws -> String {
        try await client.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
    }

    public func abort(key: String, uploadId: String) async throws {
        try await client.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
    }
}
