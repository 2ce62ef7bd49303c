import AsyncHTTPClient
import Crypto
import Foundation
import HoistSupport
import NIOCore
import SigV4

/// One part of a multipart upload as S3 lists it (ListParts).
public struct S3Part: Sendable, Hashable {
    /// 1 to 10,000.
    public var partNumber: Int
    /// The part's ETag, without quotes.
    public var etag: String
    /// Its length in bytes.
    public var size: Int64
    /// The part's SHA-256 (base64), when the upload was created with that checksum algorithm.
    public var checksumSHA256: String?

    /// Creates a part.
    public init(partNumber: Int, etag: String, size: Int64, checksumSHA256: String? = nil) {
        self.partNumber = partNumber
        self.etag = etag
        self.size = size
        self.checksumSHA256 = checksumSHA256
    }
}

/// One page of ListParts.
public struct S3PartListing: Sendable, Hashable {
    /// The parts of the page, by part number.
    public var parts: [S3Part]
    /// Whether more parts follow.
    public var isTruncated: Bool
    /// The marker of the next page, when truncated.
    public var nextPartNumberMarker: Int?
}

/// A multipart upload in progress, as ListMultipartUploads reports it.
public struct S3MultipartUpload: Sendable, Hashable {
    /// The object key the upload will create.
    public var key: String
    /// The upload id.
    public var uploadId: String

    /// Creates an entry.
    public init(key: String, uploadId: String) {
        self.key = key
        self.uploadId = uploadId
    }
}

extension S3Client {
    /// Starts a multipart upload (S3 CreateMultipartUpload).
    ///
    /// ```swift
    /// let uploadId = try await s3.createMultipartUpload(bucket: "b", key: "big.jpg", contentType: "image/jpeg")
    /// ```
    ///
    /// - Parameters:
    ///   - contentType: the completed object's `Content-Type`.
    ///   - checksumSHA256: whether every part carries `x-amz-checksum-sha256`
    ///     (sent as `x-amz-checksum-algorithm: SHA256`).
    /// - Returns: the upload id.
    /// - Throws: ``S3ClientError``.
    public func createMultipartUpload(bucket: String, key: String, contentType: String, checksumSHA256: Bool = false) async throws -> String {
        var headers = [("Content-Type", contentType)]
        if checksumSHA256 { headers.append(("x-amz-checksum-algorithm", "SHA256")) }
        let request = Request(operation: "CreateMultipartUpload", method: .POST, bucket: bucket, key: key, query: [("uploads", "")],
                              headers: headers, body: .bytes(ByteBuffer()))
        let xml = try await xmlBody(of: try await execute(request), request: request)
        guard let uploadId = S3XML.text(of: "UploadId", in: xml), !uploadId.isEmpty else {
            throw invalidResponse(request, "The InitiateMultipartUploadResult has no UploadId.")
        }
        return uploadId
    }

    /// Uploads one part from memory, its SHA-256 signed (S3 UploadPart).
    ///
    /// - Parameters:
    ///   - partNumber: 1 to 10,000.
    ///   - bytes: the part (at least 5 MiB, the last part aside).
    ///   - checksumSHA256: send the part's SHA-256 as `x-amz-checksum-sha256` too (for an
    ///     upload created with that checksum algorithm).
    /// - Returns: the part's ETag, without quotes.
    /// - Throws: ``S3ClientError``.
    @discardableResult
    public func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, bytes: [UInt8],
                           checksumSHA256: Bool = false) async throws -> String {
        let digest = SHA256.hash(data: bytes)
        var headers: [(String, String)] = []
        if checksumSHA256 { headers.append(("x-amz-checksum-sha256", Data(digest).base64EncodedString())) }
        let request = Request(operation: "UploadPart", method: .PUT, bucket: bucket, key: key,
                              query: [("partNumber", String(partNumber)), ("uploadId", uploadId)], headers: headers,
                              body: .bytes(ByteBuffer(bytes: bytes)), payloadHash: Hex.encode(digest), timeout: transferTimeout)
        return try await etag(of: try await execute(request), request: request)
    }

    /// One page of an upload's parts (S3 ListParts).
    ///
    /// - Parameters:
    ///   - partNumberMarker: list the parts after this number (0: from the first).
    ///   - maxParts: at most this many (S3 gives at most 1,000).
    /// - Throws: ``S3ClientError`` (`NoSuchUpload` when the upload is not there, or was completed or aborted).
    public func listParts(bucket: String, key: String, uploadId: String, partNumberMarker: Int = 0,
                          maxParts: Int = 1000) async throws -> S3PartListing {
        var query = [("max-parts", String(maxParts)), ("uploadId", uploadId)]
        if partNumberMarker > 0 { query.insert(("part-number-marker", String(partNumberMarker)), at: 0) }
        let request = Request(operation: "ListParts", method: .GET, bucket: bucket, key: key, query: query)
        let xml = try await xmlBody(of: try await execute(request), request: request)
        var parts: [S3Part] = []
        for element in S3XML.elements(named: "Part", in: xml) {
            guard let number = S3XML.text(of: "PartNumber", in: element).flatMap(Int.init),
                  let etag = S3XML.text(of: "ETag", in: element),
                  let size = S3XML.text(of: "Size", in: element).flatMap(Int64.init) else {
                throw invalidResponse(request, "A Part of the ListPartsResult lacks its number, ETag or size.")
            }
            parts.append(S3Part(partNumber: number, etag: ETagText.unquote(etag), size: size,
                                checksumSHA256: S3XML.text(of: "ChecksumSHA256", in: element)))
        }
        let truncated = S3XML.text(of: "IsTruncated", in: xml) == "true"
        let next = S3XML.text(of: "NextPartNumberMarker", in: xml).flatMap(Int.init)
        return S3PartListing(parts: parts, isTruncated: truncated, nextPartNumberMarker: truncated ? (next ?? parts.last?.partNumber) : nil)
    }

    /// Every part of an upload, following ListParts' pages.
    ///
    /// - Throws: ``S3ClientError``; `InvalidResponse` when a truncated page does not advance.
    public func listAllParts(bucket: String, key: String, uploadId: String) async throws -> [S3Part] {
        var parts: [S3Part] = []
        var marker = 0
        while true {
            let page = try await listParts(bucket: bucket, key: key, uploadId: uploadId, partNumberMarker: marker)
            parts += page.parts
            guard page.isTruncated else { return parts }
            guard let next = page.nextPartNumberMarker, next > marker else {
                throw S3ClientError(operation: "ListParts", bucket: bucket, key: key, status: nil, code: .invalidResponse,
                                    message: "A truncated ListPartsResult does not advance its marker.")
            }
            marker = next
        }
    }

    /// Completes a multipart upload from its parts (S3 CompleteMultipartUpload).
    ///
    /// - Parameter parts: the parts in order, with their ETags (and SHA-256 when the upload
    ///   was created with that checksum algorithm).
    /// - Returns: the object's ETag, without quotes (`<md5 of the parts' MD5s>-<count>`).
    /// - Throws: ``S3ClientError``, also when S3 answers `200` with an `<Error>` body, as a
    ///   long completion may.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [S3Part]) async throws -> String {
        var body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            body += "<Part><PartNumber>\(part.partNumber)</PartNumber><ETag>\"\(S3XML.escape(part.etag))\"</ETag>"
            if let checksum = part.checksumSHA256 { body += "<ChecksumSHA256>\(S3XML.escape(checksum))</ChecksumSHA256>" }
            body += "</Part>"
        }
        body += "</CompleteMultipartUpload>"
        let bytes = Array(body.utf8)
        let request = Request(operation: "CompleteMultipartUpload", method: .POST, bucket: bucket, key: key,
                              query: [("uploadId", uploadId)], headers: [("Content-Type", "application/xml")],
                              body: .bytes(ByteBuffer(bytes: bytes)), payloadHash: Hex.encode(SHA256.hash(data: bytes)),
                              timeout: transferTimeout)
        let response = try await execute(request)
        let xml = try await xmlBody(of: response, request: request)
        if S3XML.rootElement(of: xml) == "Error" {
            throw Self.error(status: Int(response.status.code), xml: xml,
                             requestId: response.headers.first(name: "x-amz-request-id"), request: request)
        }
        guard let etag = S3XML.text(of: "ETag", in: xml) else {
            throw invalidResponse(request, "The CompleteMultipartUploadResult has no ETag.")
        }
        let unquoted = ETagText.unquote(etag)
        guard unquoted.isEmpty else { return unquoted }
        // Ceph RGW (Debian 12's) answers an empty <ETag/>: the object's own HEAD has it.
        return try await headObject(bucket: bucket, key: key).etag
    }

    /// Aborts a multipart upload, freeing its parts (S3 AbortMultipartUpload).
    ///
    /// - Throws: ``S3ClientError`` (`NoSuchUpload` when it is not there).
    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        let request = Request(operation: "AbortMultipartUpload", method: .DELETE, bucket: bucket, key: key, query: [("uploadId", uploadId)])
        _ = try await xmlBody(of: try await execute(request), request: request)
    }

    /// The first page (up to 1,000) of the bucket's multipart uploads in progress under `prefix`
    /// (S3 ListMultipartUploads).
    ///
    /// - Throws: ``S3ClientError``.
    public func listMultipartUploads(bucket: String, prefix: String = "") async throws -> [S3MultipartUpload] {
        var query = [("uploads", "")]
        if !prefix.isEmpty { query.insert(("prefix", prefix), at: 0) }
        let request = Request(operation: "ListMultipartUploads", method: .GET, bucket: bucket, key: "", query: query)
        let xml = try await xmlBody(of: try await execute(request), request: request)
        return S3XML.elements(named: "Upload", in: xml).compactMap { element in
            guard let key = S3XML.text(of: "Key", in: element), let uploadId = S3XML.text(of: "UploadId", in: element) else { return nil }
            return S3MultipartUpload(key: key, uploadId: uploadId)
        }
    }

    /// The response body as text (S3's answers to these calls are small XML documents).
    func xmlBody(of response: HTTPClientResponse, request: Request) async throws -> String {
        String(buffer: try await response.body.collect(upTo: 4 << 20))
    }

    func invalidResponse(_ request: Request, _ message: String) -> S3ClientError {
        S3ClientError(operation: request.operation, bucket: request.bucket, key: request.key, status: nil,
                      code: .invalidResponse, message: message)
    }
}
