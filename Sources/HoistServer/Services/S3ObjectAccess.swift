import Foundation
import ImageWorker
import S3

/// The worker's access to a bucket of any S3 over HTTP (`hoist worker`), through our S3 client.
struct S3ObjectAccess: ObjectAccess {
    let client: S3Client
    let bucket: String

    func head(_ key: String, version: String?) async throws -> ObjectHead? {
        do {
            let head = try await client.headObject(bucket: bucket, key: key, versionId: version)
            return ObjectHead(size: head.size, etag: head.etag, contentType: head.contentType, checksumSHA256: head.checksumSHA256)
        } catch let error as S3ClientError where error.code == .noSuchKey || error.code.rawValue == "NoSuchVersion" || error.status == 405 {
            // No object, no such version, or a delete marker's version (405 to a HEAD).
            return nil
        }
    }

    func read(_ key: String, version: String?, first count: Int) async throws -> [UInt8] {
        do {
            return try await client.getObject(bucket: bucket, key: key, versionId: version, range: 0...Int64(count - 1), maxBytes: count).1
        } catch let error as S3ClientError where error.code == .invalidRange {
            return []  // an empty object has no byte 0
        }
    }

    func download(_ key: String, version: String?, to path: String) async throws {
        _ = try await client.download(bucket: bucket, key: key, versionId: version, to: path)
    }

    func put(_ key: String, file path: String, contentType: String) async throws {
        _ = try await client.putObject(bucket: bucket, key: key, file: path, contentType: contentType)
    }

    func copy(_ source: String, version: String?, to destination: String) async throws {
        _ = try await client.copyObject(from: (bucket, source), sourceVersionId: version, to: (bucket, destination))
    }

    func delete(_ key: String, version: String?) async throws {
        try await client.deleteObject(bucket: bucket, key: key, versionId: version)
    }

    func abortMultipartUpload(_ key: String, uploadId: String) async throws {
        do {
            try await client.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
        } catch let error as S3ClientError where error.code == .noSuchUpload {
            // already completed or aborted
        }
    }
}
