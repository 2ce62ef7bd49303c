import Crypto
import Foundation
import S3
import Testing

/// The multipart calls of `S3Client` against the embedded store over real HTTP.
@Suite("S3Client multipart uploads")
struct S3ClientMultipartTests {
    static let bucket = LiveStore.bucket

    static func bytes(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed }
    }

    @Test("create, upload parts, list (paginated), complete; a retried completion answers the same ETag")
    func flow() async throws {
        try await LiveStore.run { s3, handle in
            let key = "big/photo 1.jpg"
            let uploadId = try await s3.createMultipartUpload(bucket: Self.bucket, key: key, contentType: "image/jpeg")
            #expect(!uploadId.isEmpty)
            #expect(try await s3.listMultipartUploads(bucket: Self.bucket, prefix: "big/") == [S3MultipartUpload(key: key, uploadId: uploadId)])

            let first = Self.bytes(5 << 20, seed: 1), second = Self.bytes(1000, seed: 2)
            let etag1 = try await s3.uploadPart(bucket: Self.bucket, key: key, uploadId: uploadId, partNumber: 1, bytes: first)
            try await s3.uploadPart(bucket: Self.bucket, key: key, uploadId: uploadId, partNumber: 2, bytes: second)

            let page = try await s3.listParts(bucket: Self.bucket, key: key, uploadId: uploadId, maxParts: 1)
            #expect(page.parts.map(\.partNumber) == [1] && page.isTruncated && page.nextPartNumberMarker == 1)
            #expect(page.parts.first?.etag == etag1 && page.parts.first?.size == Int64(first.count))
            let all = try await s3.listAllParts(bucket: Self.bucket, key: key, uploadId: uploadId)
            #expect(all.map(\.partNumber) == [1, 2] && all.map(\.size) == [Int64(first.count), 1000])

            let etag = try await s3.completeMultipartUpload(bucket: Self.bucket, key: key, uploadId: uploadId, parts: all)
            #expect(etag.hasSuffix("-2"))
            #expect(try await s3.completeMultipartUpload(bucket: Self.bucket, key: key, uploadId: uploadId, parts: all) == etag)
            let head = try await s3.headObject(bucket: Self.bucket, key: key)
            #expect(head.size == Int64(first.count + second.count) && head.etag == etag && head.contentType == "image/jpeg")
            #expect(try await s3.listMultipartUploads(bucket: Self.bucket).isEmpty)
            _ = handle
        }
    }

    @Test("parts with SHA-256: listed with their checksums and completed with them")
    func checksums() async throws {
        try await LiveStore.run { s3, _ in
            let key = "sums.bin"
            let uploadId = try await s3.createMultipartUpload(bucket: Self.bucket, key: key, contentType: "image/png", checksumSHA256: true)
            let part = Self.bytes(4096, seed: 9)
            try await s3.uploadPart(bucket: Self.bucket, key: key, uploadId: uploadId, partNumber: 1, bytes: part, checksumSHA256: true)
            let parts = try await s3.listAllParts(bucket: Self.bucket, key: key, uploadId: uploadId)
            #expect(parts.first?.checksumSHA256 == Data(SHA256.hash(data: part)).base64EncodedString())
            let etag = try await s3.completeMultipartUpload(bucket: Self.bucket, key: key, uploadId: uploadId, parts: parts)
            #expect(etag.hasSuffix("-1"))
        }
    }

    @Test("abort: the upload is gone from the listing; its parts, completion and a second abort are NoSuchUpload")
    func abort() async throws {
        try await LiveStore.run { s3, _ in
            let key = "gone.jpg"
            let uploadId = try await s3.createMultipartUpload(bucket: Self.bucket, key: key, contentType: "image/jpeg")
            try await s3.abortMultipartUpload(bucket: Self.bucket, key: key, uploadId: uploadId)
            #expect(try await s3.listMultipartUploads(bucket: Self.bucket).isEmpty)
            for call in [
                { _ = try await s3.listParts(bucket: Self.bucket, key: key, uploadId: uploadId) },
                { try await s3.abortMultipartUpload(bucket: Self.bucket, key: key, uploadId: uploadId) },
                { _ = try await s3.completeMultipartUpload(bucket: Self.bucket, key: key, uploadId: uploadId,
                                                            parts: [S3Part(partNumber: 1, etag: "x", size: 1)]) },
            ] as [@Sendable () async throws -> Void] {
                do {
                    try await call()
                    Issue.record("expected NoSuchUpload")
                } catch let error as S3ClientError {
                    #expect(error.code == .noSuchUpload && error.status == 404)
                }
            }
        }
    }
}
