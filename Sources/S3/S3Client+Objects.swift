import AsyncHTTPClient
import Crypto
import Foundation
import HoistSupport
import NIOCore
import _NIOFileSystem
import NIOHTTP1
import SigV4

extension S3Client {
    /// Reads an object's size, `ETag`, type, metadata and stored checksum (S3 HeadObject).
    ///
    /// - Throws: ``S3ClientError`` with ``S3ClientError/Code/noSuchKey`` when it is not there.
    /// - Parameter versionId: a version of a versioned bucket's object; `nil` for the latest.
    public func headObject(bucket: String, key: String, versionId: String? = nil) async throws -> S3ObjectHead {
        let request = Request(operation: "HeadObject", method: .HEAD, bucket: bucket, key: key,
                              query: Self.versionQuery(versionId), headers: [("x-amz-checksum-mode", "ENABLED")])
        let response = try await execute(request)
        return try head(of: response, request: request)
    }

    /// Reads a small object, or a range of any object, into memory (S3 GetObject).
    ///
    /// ```swift
    /// // The first 64 KiB, to sniff the format:
    /// let (head, bytes) = try await s3.getObject(bucket: "b", key: k, range: 0...65535, maxBytes: 65536)
    /// ```
    ///
    /// - Parameters:
    ///   - range: the bytes wanted, first and last inclusive, as in HTTP `Range`; a range
    ///     past the end is cut to the object (S3 refuses one that starts past it, and
    ///     any range of an empty object, with ``S3ClientError/Code/invalidRange``).
    ///   - maxBytes: the most this call may hold in memory.
    /// - Returns: the object's head (``S3ObjectHead/size`` is the whole object's) and the bytes.
    /// - Throws: ``S3ClientError``; ``S3ClientError/Code/responseTooLarge`` when the body
    ///   is longer than `maxBytes` (use ``download(bucket:key:to:)`` for big objects).
    public func getObject(bucket: String, key: String, versionId: String? = nil, range: ClosedRange<Int64>? = nil,
                          maxBytes: Int) async throws -> (S3ObjectHead, [UInt8]) {
        var headers: [(String, String)] = []
        if let range {
            headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound)"))
        } else {
            headers.append(("x-amz-checksum-mode", "ENABLED"))
        }
        let request = Request(operation: "GetObject", method: .GET, bucket: bucket, key: key, query: Self.versionQuery(versionId),
                              headers: headers)
        let response = try await execute(request)
        let head = try head(of: response, request: request)
        let tooLarge = S3ClientError(operation: request.operation, bucket: bucket, key: key, status: Int(response.status.code),
                                     code: .responseTooLarge, message: "The body is longer than the \(maxBytes) bytes allowed.")
        if let length = response.headers.first(name: "content-length").flatMap(Int64.init), length > Int64(maxBytes) {
            throw tooLarge
        }
        do {
            let buffer = try await response.body.collect(upTo: maxBytes)
            return (head, Array(buffer.readableBytesView))
        } catch is NIOTooManyBytesError {
            throw tooLarge
        }
    }

    /// Streams an object into a file, memory flat whatever its size (S3 GetObject).
    ///
    /// The file appears only once every byte is there: it is written under a
    /// temporary name and renamed over `path` at the end, so a failed download
    /// leaves `path` as it was. The length is checked against `Content-Length`,
    /// and the bytes against the object's `x-amz-checksum-sha256` when it has one.
    ///
    /// - Parameter path: the file to write; its folder must exist. An existing file is replaced.
    /// - Returns: the object's head.
    /// - Throws: ``S3ClientError`` (``S3ClientError/Code/incompleteBody``, ``S3ClientError/Code/badDigest``
    ///   when the bytes are not what S3 announced), or a file-system error.
    @discardableResult
    public func download(bucket: String, key: String, versionId: String? = nil, to path: String) async throws -> S3ObjectHead {
        let request = Request(operation: "GetObject", method: .GET, bucket: bucket, key: key,
                              query: Self.versionQuery(versionId), headers: [("x-amz-checksum-mode", "ENABLED")])
        let response = try await execute(request)
        let head = try head(of: response, request: request)
        func failure(_ code: S3ClientError.Code, _ message: String) -> S3ClientError {
            S3ClientError(operation: request.operation, bucket: bucket, key: key, status: Int(response.status.code),
                          code: code, message: message, requestId: response.headers.first(name: "x-amz-request-id"))
        }
        // Only a full-object checksum can be checked here; a multipart one reads `…-N`.
        let expectedSHA256 = head.checksumSHA256.flatMap { $0.contains("-") ? nil : $0 }
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)) { file in
            var hasher = SHA256()
            let written = try await file.withBufferedWriter(capacity: .kibibytes(512)) { writer in
                var total: Int64 = 0
                for try await chunk in response.body {
                    total += Int64(chunk.readableBytes)
                    if total > head.size {
                        throw failure(.incompleteBody, "The body runs past the \(head.size) bytes announced.")
                    }
                    if expectedSHA256 != nil {
                        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    }
                    try await writer.write(contentsOf: chunk)
                }
                return total
            }
            guard written == head.size else {
                throw failure(.incompleteBody, "The body ended after \(written) of \(head.size) bytes.")
            }
            if let expectedSHA256 {
                let actual = Data(hasher.finalize()).base64EncodedString()
                guard actual == expectedSHA256 else {
                    throw failure(.badDigest, "The bytes' SHA-256 \(actual) differs from the object's \(expectedSHA256).")
                }
            }
        }
        return head
    }

    /// Uploads a file, streamed from disk: memory stays flat whatever its size (S3 PutObject).
    ///
    /// The body is sent as `UNSIGNED-PAYLOAD` (hashing first would read the file
    /// twice); pass `checksumSHA256` to have S3 check the bytes all the same.
    ///
    /// - Parameters:
    ///   - path: the file to send; it must not change while it is sent.
    ///   - contentType: the object's `Content-Type`.
    ///   - metadata: user metadata, sent as `x-amz-meta-*` (printable ASCII).
    ///   - checksumSHA256: the base64 SHA-256 of the file, if known; S3 refuses other bytes (`BadDigest`).
    /// - Returns: the new object's `ETag`, without quotes.
    /// - Throws: ``S3ClientError``, or a file-system error when the file cannot be read.
    @discardableResult
    public func putObject(bucket: String, key: String, file path: String, contentType: String,
                          metadata: [String: String] = [:], checksumSHA256: String? = nil) async throws -> String {
        var headers = [("Content-Type", contentType)]
        headers += try Self.metadataHeaders(metadata, operation: "PutObject", bucket: bucket, key: key)
        if let checksumSHA256 { headers.append(("x-amz-checksum-sha256", checksumSHA256)) }
        return try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { file in
            let size = try await file.info().size
            let request = Request(operation: "PutObject", method: .PUT, bucket: bucket, key: key, headers: headers,
                                  body: .stream(file.readChunks(chunkLength: .kibibytes(256)), length: .known(size)),
                                  payloadHash: PayloadHash.unsigned, timeout: transferTimeout)
            return try await etag(of: try await execute(request), request: request)
        }
    }

    /// Uploads bytes held in memory, their SHA-256 signed and sent as
    /// `x-amz-checksum-sha256` so S3 stores and checks it (S3 PutObject).
    ///
    /// - Parameters:
    ///   - bytes: the object's content.
    ///   - contentType: the object's `Content-Type`.
    ///   - metadata: user metadata, sent as `x-amz-meta-*` (printable ASCII).
    /// - Returns: the new object's `ETag`, without quotes.
    /// - Throws: ``S3ClientError``.
    @discardableResult
    public func putObject(bucket: String, key: String, bytes: [UInt8], contentType: String,
                          metadata: [String: String] = [:]) async throws -> String {
        let digest = SHA256.hash(data: bytes)
        var headers = [("Content-Type", contentType), ("x-amz-checksum-sha256", Data(digest).base64EncodedString())]
        headers += try Self.metadataHeaders(metadata, operation: "PutObject", bucket: bucket, key: key)
        let request = Request(operation: "PutObject", method: .PUT, bucket: bucket, key: key, headers: headers,
                              body: .bytes(ByteBuffer(bytes: bytes)), payloadHash: Hex.encode(digest))
        return try await etag(of: try await execute(request), request: request)
    }

    /// Copies an object inside the service, metadata and type included (S3 CopyObject).
    ///
    /// ```swift
    /// try await s3.copyObject(from: ("article-images", "raw/a.png"), to: ("article-images", "quarantine/raw/a.png"))
    /// ```
    ///
    /// - Returns: the copy's `ETag`, without quotes.
    /// - Throws: ``S3ClientError``, also when S3 answers `200` with an `<Error>` body,
    ///   as CopyObject may once it has started.
    @discardableResult
    public func copyObject(from source: (bucket: String, key: String), sourceVersionId: String? = nil,
                           to destination: (bucket: String, key: String)) async throws -> String {
        var copySource = S3URIEncoding.encodePath("\(source.bucket)/\(source.key)")
        if let sourceVersionId { copySource += "?versionId=" + S3URIEncoding.encodeQueryComponent(sourceVersionId) }
        let request = Request(operation: "CopyObject", method: .PUT, bucket: destination.bucket, key: destination.key,
                              headers: [("x-amz-copy-source", copySource)],
                              body: .bytes(ByteBuffer()))
        let response = try await execute(request)
        let xml = String(buffer: try await response.body.collect(upTo: 64 * 1024))
        if S3XML.rootElement(of: xml) == "Error" {
            throw Self.error(status: Int(response.status.code), xml: xml,
                             requestId: response.headers.first(name: "x-amz-request-id"), request: request)
        }
        guard let tag = S3XML.text(of: "ETag", in: xml) else {
            throw S3ClientError(operation: request.operation, bucket: destination.bucket, key: destination.key,
                                status: Int(response.status.code), code: .invalidResponse,
                                message: "The CopyObjectResult has no ETag.", requestId: response.headers.first(name: "x-amz-request-id"))
        }
        return ETagText.unquote(tag)
    }

    /// Deletes an object (S3 DeleteObject); deleting a key that is not there succeeds, as in S3.
    ///
    /// - Throws: ``S3ClientError``.
    /// - Parameter versionId: removes that version for good; `nil` deletes the latest (a delete marker in a versioned bucket).
    public func deleteObject(bucket: String, key: String, versionId: String? = nil) async throws {
        let request = Request(operation: "DeleteObject", method: .DELETE, bucket: bucket, key: key, query: Self.versionQuery(versionId))
        let response = try await execute(request)
        _ = try await response.body.collect(upTo: 64 * 1024)
    }

    /// The `versionId` query of a request about one version.
    static func versionQuery(_ versionId: String?) -> [(String, String)] {
        versionId.map { [("versionId", $0)] } ?? []
    }

    // MARK: Responses

    func head(of response: HTTPClientResponse, request: Request) throws -> S3ObjectHead {
        guard let head = S3ObjectHead(headers: response.headers) else {
            throw S3ClientError(operation: request.operation, bucket: request.bucket, key: request.key,
                                status: Int(response.status.code), code: .invalidResponse,
                                message: "The response lacks a size or an ETag.",
                                requestId: response.headers.first(name: "x-amz-request-id"))
        }
        return head
    }

    func etag(of response: HTTPClientResponse, request: Request) async throws -> String {
        _ = try await response.body.collect(upTo: 64 * 1024)
        guard let tag = response.headers.first(name: "etag") else {
            throw S3ClientError(operation: request.operation, bucket: request.bucket, key: request.key,
                                status: Int(response.status.code), code: .invalidResponse,
                                message: "The response has no ETag.", requestId: response.headers.first(name: "x-amz-request-id"))
        }
        return ETagText.unquote(tag)
    }
}
