import Foundation
import Hummingbird
import ObjectStoreEngine
import SigV4

/// A PUT-style request body (PutObject, UploadPart) on its way into an
/// ``UploadSink``: its declared length, framing (`aws-chunked` or plain) and
/// every digest the client promised, checked once the last byte is in.
///
/// Built from the headers before any byte is read, so malformed requests fail
/// early; ``receive(_:into:)`` then streams the body chunk by chunk.
struct IncomingBody {
    /// What a received body turned out to be.
    struct Received {
        /// MD5 and SHA-256 of the decoded bytes.
        let digests: UploadDigests
        /// The base64 SHA-256 the client sent (header or trailer), when it did; it matched.
        let checksumSHA256: String?
        /// Every checksum the client sent, to echo in the response.
        let checksums: [(ChecksumAlgorithm, String)]
    }

    private let resource: String
    private let auth: SigV4Authentication
    private let chunked: Bool
    private var decoder: AWSChunkedDecoder?
    private let declaredLength: Int64?
    private let maximumSize: Int64
    private let limitName: String
    private let contentMD5: [UInt8]?
    private var checksums: [RunningChecksum] = []
    private var expectedChecksums: [ChecksumAlgorithm: String] = [:]

    /// Reads the body's framing and promised digests from the headers.
    ///
    /// - Parameters:
    ///   - maximumSize: The largest body accepted; a larger declared length is `EntityTooLarge`.
    ///   - what: Names the limit in the `EntityTooLarge` message, e.g. "a single PUT".
    /// - Throws: ``S3Error`` `MissingContentLength`, `InvalidArgument`, `EntityTooLarge`,
    ///   `InvalidDigest`, `InvalidRequest`; ``SigV4Error`` for a bad chunked seed.
    init(_ s3: S3Request, auth: SigV4Authentication, maximumSize: Int64, what: String) throws {
        let resource = s3.resource
        self.resource = resource
        self.auth = auth
        chunked = auth.payloadHash.hasPrefix("STREAMING-")
        if chunked {
            guard let decoded = s3.header("x-amz-decoded-content-length").flatMap({ Int64($0.trimmingCharacters(in: .whitespaces)) }) else {
                throw S3Error(.missingContentLength, "You must provide the x-amz-decoded-content-length HTTP header with aws-chunked uploads.", resource: resource)
            }
            declaredLength = decoded
            decoder = try AWSChunkedDecoder(authentication: auth, decodedContentLength: Int(decoded))
        } else if let text = s3.header("content-length") {
            guard let length = Int64(text.trimmingCharacters(in: .whitespaces)), length >= 0 else {
                throw S3Error(.invalidArgument, "Content-Length is not a valid number.", resource: resource)
            }
            declaredLength = length
        } else if s3.header("transfer-encoding")?.lowercased().contains("chunked") == true {
            // A stream of unknown length (`curl -T -`): taken when the signature binds no length (a
            // pre-signed URL that binds Content-Length fails its signature first); the size limit
            // is checked as the bytes arrive.
            declaredLength = nil
        } else {
            throw S3Error(.missingContentLength, "You must provide the Content-Length HTTP header.", resource: resource)
        }
        self.maximumSize = maximumSize
        self.limitName = what
        if let declaredLength, declaredLength > maximumSize {
            throw S3Error(.entityTooLarge, "Your proposed upload exceeds the maximum allowed size (\(what)).", resource: resource)
        }

        contentMD5 = try s3.header("content-md5").map { value -> [UInt8] in
            guard let bytes = Data(base64Encoded: value.trimmingCharacters(in: .whitespaces)), bytes.count == 16 else {
                throw S3Error(.invalidDigest, "The Content-MD5 you specified was invalid.", resource: resource)
            }
            return Array(bytes)
        }
        for algorithm in ChecksumAlgorithm.all {
            if let value = s3.header(algorithm.header) {
                expectedChecksums[algorithm] = value.trimmingCharacters(in: .whitespaces)
                checksums.append(RunningChecksum(algorithm))
            }
        }
        if let trailer = s3.header("x-amz-trailer") {
            for name in trailer.split(separator: ",") {
                let text = name.trimmingCharacters(in: .whitespaces)
                guard let algorithm = ChecksumAlgorithm(headerOrAlgorithm: text) else {
                    throw S3Error(.invalidRequest, "The trailer \(text) is not a supported checksum (crc32, crc32c, sha1, sha256).", resource: resource)
                }
                if !checksums.contains(where: { $0.algorithm == algorithm }) { checksums.append(RunningChecksum(algorithm)) }
            }
        }
        if let sdkAlgorithm = s3.header("x-amz-sdk-checksum-algorithm"), ChecksumAlgorithm(headerOrAlgorithm: sdkAlgorithm) == nil {
            throw S3Error(.invalidRequest, "The checksum algorithm \(sdkAlgorithm) is not supported (crc32, crc32c, sha1, sha256).", resource: resource)
        }
    }

    /// Whether checking the body needs its SHA-256: a signed payload hash, or an
    /// `x-amz-checksum-sha256` header or trailer.
    var needsSHA256: Bool {
        (!chunked && auth.payloadHash != PayloadHash.unsigned) || checksums.contains { $0.algorithm == .sha256 }
    }

    /// Streams the body into `sink`, decoding `aws-chunked` framing and
    /// verifying chunk signatures, then checks the length, the signed payload
    /// hash, `Content-MD5` and every `x-amz-checksum-*` (header or trailer).
    ///
    /// Does not commit or abort the sink: the caller does.
    ///
    /// - Throws: ``S3Error`` `IncompleteBody`, `XAmzContentSHA256Mismatch`, `BadDigest`,
    ///   `InvalidRequest`; ``SigV4Error`` for a bad chunk signature.
    mutating func receive(_ body: RequestBody, into sink: UploadSink) async throws -> Received {
        let resource = resource
        let declaredLength = declaredLength, maximumSize = maximumSize, limitName = limitName
        // Locals, so the decoder and the checksums are not both accesses to `self` at once.
        var decoder = decoder
        var checksums = checksums
        var expectedChecksums = expectedChecksums
        defer {
            self.decoder = decoder
            self.checksums = checksums
            self.expectedChecksums = expectedChecksums
        }
        var received: Int64 = 0
        for try await buffer in body {
            try buffer.withUnsafeReadableBytes { raw in
                func take(_ piece: UnsafeRawBufferPointer) throws {
                    received += Int64(piece.count)
                    if let declaredLength, received > declaredLength {
                        throw S3Error(.incompleteBody, "The body is longer than the declared length.", resource: resource)
                    }
                    if received > maximumSize {
                        throw S3Error(.entityTooLarge, "Your proposed upload exceeds the maximum allowed size (\(limitName)).", resource: resource)
                    }
                    try sink.append(piece)
                    for i in checksums.indices { checksums[i].update(piece) }
                }
                if decoder != nil {
                    try decoder!.feed(raw) { try take($0) }
                } else {
                    try take(raw)
                }
            }
            // Writes out the full blocks appended above, off the cooperative pool; suspends while the disk is behind.
            try await sink.drain()
        }
        var trailers: [(String, String)] = []
        if decoder != nil { trailers = try decoder!.finish() }
        if let declaredLength, received != declaredLength {
            throw S3Error(.incompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header.", resource: resource)
        }
        for (name, value) in trailers {
            guard let algorithm = ChecksumAlgorithm(headerOrAlgorithm: name) else { continue }
            expectedChecksums[algorithm] = value
        }

        let digests = try await sink.digests()
        if !chunked && auth.payloadHash != PayloadHash.unsigned && auth.payloadHash.lowercased() != digests.sha256Hex {
            throw S3Error(.xAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.", resource: resource)
        }
        if let contentMD5, contentMD5 != digests.md5 {
            throw S3Error(.badDigest, "The Content-MD5 you specified did not match what we received.", resource: resource)
        }
        var sha256: String?
        for checksum in checksums {
            guard let expected = expectedChecksums[checksum.algorithm] else {
                throw S3Error(.invalidRequest, "The \(checksum.algorithm.header) trailer was announced but not sent.", resource: resource)
            }
            let actual = checksum.algorithm == .sha256 ? digests.sha256Base64 : checksum.base64()
            guard actual == expected else {
                throw S3Error(.badDigest, "The \(checksum.algorithm.name.uppercased()) you specified did not match the calculated checksum.", resource: resource)
            }
            if checksum.algorithm == .sha256 { sha256 = actual }
        }
        return Received(digests: digests, checksumSHA256: sha256,
                        checksums: expectedChecksums.map { ($0.key, $0.value) })
    }
}
