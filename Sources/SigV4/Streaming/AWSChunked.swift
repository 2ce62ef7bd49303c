import Crypto
import HoistSupport

/// Signs the chunks of an `aws-chunked` body (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`),
/// each over the previous signature, starting from the request's seed signature.
///
/// String to sign of a chunk (S3 “Signature calculation: transfer payload in
/// multiple chunks”): `AWS4-HMAC-SHA256-PAYLOAD \n date \n scope \n previous
/// signature \n sha256("") \n sha256(chunk data)`; of the trailer:
/// `AWS4-HMAC-SHA256-TRAILER \n date \n scope \n previous signature \n sha256(trailer)`.
///
/// ```swift
/// var chunks = ChunkSigner(seedSignature: signed.signature, key: key, date: signed.amzDate, scope: scope)
/// let header = chunks.chunkHeader(for: data)  // "10000;chunk-signature=…\r\n"
/// ```
public struct ChunkSigner: Sendable {
    /// The signature of the last chunk signed (the seed before the first).
    public private(set) var previousSignature: String
    let key: SigningKey
    let prefix: [UInt8]
    let trailerPrefix: [UInt8]

    /// Starts a chain from the request's seed signature.
    /// - Parameters:
    ///   - seedSignature: the hex signature of the request's headers.
    ///   - key: the signing key of the request.
    ///   - date: the request's signing time.
    ///   - scope: `yyyymmdd/region/service/aws4_request`.
    public init(seedSignature: String, key: SigningKey, date: AMZDate, scope: String) {
        self.previousSignature = seedSignature
        self.key = key
        var p = Array("AWS4-HMAC-SHA256-PAYLOAD\n".utf8)
        date.appendAMZ(to: &p)
        p.append(Canonical.newline)
        p.append(contentsOf: scope.utf8)
        p.append(Canonical.newline)
        self.prefix = p
        var t = Array("AWS4-HMAC-SHA256-TRAILER\n".utf8)
        date.appendAMZ(to: &t)
        t.append(Canonical.newline)
        t.append(contentsOf: scope.utf8)
        t.append(Canonical.newline)
        self.trailerPrefix = t
    }

    /// The raw signature of the next chunk whose data hashes to `dataSHA256`; does not advance.
    func expectedChunkSignature(dataSHA256: SHA256.Digest) -> [UInt8] {
        var sts = prefix
        sts.append(contentsOf: previousSignature.utf8)
        sts.append(Canonical.newline)
        sts.append(contentsOf: PayloadHash.emptySHA256.utf8)
        sts.append(Canonical.newline)
        Hex.append(dataSHA256, to: &sts)
        return key.signature(of: sts)
    }

    /// Signs the next chunk and advances the chain.
    /// - Returns: the chunk's hex signature.
    public mutating func sign(chunk data: [UInt8]) -> String {
        let signature = Hex.encode(expectedChunkSignature(dataSHA256: SHA256.hash(data: data)))
        previousSignature = signature
        return signature
    }

    /// The encoded chunk: `hex(size);chunk-signature=sig\r\n data \r\n`. An empty `data` is the final chunk.
    public mutating func encode(chunk data: [UInt8]) -> [UInt8] {
        let signature = sign(chunk: data)
        var out = Array("\(String(data.count, radix: 16));chunk-signature=\(signature)\r\n".utf8)
        out.append(contentsOf: data)
        if !data.isEmpty { out.append(contentsOf: "\r\n".utf8) }
        return out
    }

    /// The raw signature of the trailer; does not advance.
    func expectedTrailerSignature(canonicalTrailer: [UInt8]) -> [UInt8] {
        var sts = trailerPrefix
        sts.append(contentsOf: previousSignature.utf8)
        sts.append(Canonical.newline)
        Hex.append(SHA256.hash(data: canonicalTrailer), to: &sts)
        return key.signature(of: sts)
    }

    /// Signs the trailing headers (`name:value\n` each) after the final chunk.
    public mutating func signTrailer(_ trailers: [(String, String)]) -> String {
        let signature = Hex.encode(expectedTrailerSignature(canonicalTrailer: Self.canonicalTrailer(trailers)))
        previousSignature = signature
        return signature
    }

    static func canonicalTrailer(_ trailers: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (name, value) in trailers {
            out.append(contentsOf: Canonical.lowercasedName(name).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: value.trimmingSpaces.utf8)
            out.append(Canonical.newline)
        }
        return out
    }
}

/// Decodes an `aws-chunked` body as it arrives and verifies every chunk
/// signature, without buffering the body: only a chunk's header line is held.
///
/// Feed bytes in any pieces; decoded data is handed to `emit` as it arrives.
/// A chunk's data is emitted before its signature can be checked (the check
/// needs all of it), so a consumer must not commit what it wrote until
/// ``finish()`` returns.
///
/// ```swift
/// var decoder = try AWSChunkedDecoder(authentication: auth)
/// for try await buffer in body { try decoder.feed(buffer) { file.write($0) } }
/// let trailers = try decoder.finish()
/// ```
public struct AWSChunkedDecoder: Sendable {
    enum State: Sendable {
        case chunkHeader
        case data(remaining: Int)
        case dataEnd(crSeen: Bool)
        case trailer
        case done
    }

    /// Whether chunks carry signatures (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`)
    /// or not (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
    public let signed: Bool
    /// Whether trailing headers are expected after the final chunk.
    public let expectsTrailer: Bool
    /// The trailing headers received, in order (`x-amz-trailer-signature` excluded).
    public private(set) var trailers: [(String, String)] = []
    /// Decoded bytes so far.
    public private(set) var decodedLength: Int = 0

    private var chain: ChunkSigner?
    private var state: State = .chunkHeader
    private var line: [UInt8] = []
    private var hasher = SHA256()
    private var pendingSignature: [UInt8] = []
    private var trailerSignature: [UInt8]? = nil
    private let decodedContentLength: Int?
    static let maximumLine = 4096

    /// Starts decoding a body whose request passed ``SigV4Verifier/verify(_:now:)``.
    /// - Parameters:
    ///   - authentication: the request's verification; its payload hash picks the variant.
    ///   - decodedContentLength: `x-amz-decoded-content-length`, checked at the end when given.
    /// - Throws: `InvalidRequest` when the payload hash is not a streaming variant.
    public init(authentication: SigV4Authentication, decodedContentLength: Int? = nil) throws(SigV4Error) {
        switch authentication.payloadHash {
        case PayloadHash.streaming: signed = true; expectsTrailer = false
        case PayloadHash.streamingTrailer: signed = true; expectsTrailer = true
        case PayloadHash.streamingUnsignedTrailer: signed = false; expectsTrailer = true
        default:
            throw SigV4Error(.invalidRequest, "The body is not aws-chunked: x-amz-content-sha256 is \(authentication.payloadHash).")
        }
        self.decodedContentLength = decodedContentLength
        if signed {
            chain = ChunkSigner(seedSignature: authentication.signature, key: authentication.signingKey,
                                date: authentication.date, scope: authentication.scope)
        }
    }

    private static func malformed(_ why: String) -> SigV4Error {
        SigV4Error(.incompleteBody, "The aws-chunked body is malformed: \(why)")
    }

    /// Consumes the next bytes of the encoded body.
    /// - Parameters:
    ///   - bytes: the next piece of the body, any size.
    ///   - emit: receives decoded data, in order.
    /// - Throws: ``SigV4Error`` `SignatureDoesNotMatch` for a bad chunk or
    ///   trailer signature, `IncompleteBody` for a malformed encoding.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        var i = 0
        let count = bytes.count
        while i < count {
            switch state {
            case .chunkHeader, .trailer:
                let b = bytes[i]
                i += 1
                if b == UInt8(ascii: "\n") {
                    guard line.last == UInt8(ascii: "\r") else { throw Self.malformed("a line does not end with CRLF.") }
                    line.removeLast()
                    let text = line
                    line.removeAll(keepingCapacity: true)
                    if case .chunkHeader = state { try chunkHeaderLine(text) } else { try trailerLine(text) }
                } else {
                    line.append(b)
                    guard line.count <= Self.maximumLine else { throw Self.malformed("a chunk header or trailer line is too long.") }
                }
            case .data(let remaining):
                let take = min(remaining, count - i)
                let slice = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)])
                hasher.update(bufferPointer: slice)
                try emit(slice)
                decodedLength += take
                i += take
                state = remaining == take ? .dataEnd(crSeen: false) : .data(remaining: remaining - take)
            case .dataEnd(let crSeen):
                let b = bytes[i]
                i += 1
                if !crSeen {
                    guard b == UInt8(ascii: "\r") else { throw Self.malformed("chunk data is longer than its declared size.") }
                    state = .dataEnd(crSeen: true)
                } else {
                    guard b == UInt8(ascii: "\n") else { throw Self.malformed("chunk data is not followed by CRLF.") }
                    try verifyChunk(digest: hasher.finalize())
                    hasher = SHA256()
                    state = .chunkHeader
                }
            case .done:
                throw Self.malformed("bytes follow the end of the body.")
            }
        }
    }

    /// Consumes bytes from an array (convenience for tests and small bodies).
    public mutating func feed(_ bytes: [UInt8], emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        try bytes.withUnsafeBytes { try feed($0, emit: emit) }
    }

    /// Ends the body; throws unless it ended exactly after its final chunk (and trailer).
    /// - Returns: the trailing headers (e.g. `x-amz-checksum-crc32c`).
    @discardableResult
    public mutating func finish() throws(SigV4Error) -> [(String, String)] {
        guard case .done = state else {
            throw SigV4Error(.incompleteBody, "The aws-chunked body ended before its final chunk.")
        }
        if let expected = decodedContentLength, expected != decodedLength {
            throw SigV4Error(.incompleteBody, "x-amz-decoded-content-length is \(expected) but the chunks hold \(decodedLength) bytes.")
        }
        return trailers
    }

    private mutating func verifyChunk(digest: SHA256.Digest) throws(SigV4Error) {
        guard signed, let current = chain else { return }
        guard constantTimeEquals(current.expectedChunkSignature(dataSHA256: digest), pendingSignature) else {
            throw SigV4Error(.signatureDoesNotMatch, "The chunk signature we calculated does not match the chunk-signature you provided.")
        }
        chain?.advance(to: pendingSignature)
    }

    private mutating func chunkHeaderLine(_ text: [UInt8]) throws {
        let parts = text.split(separator: UInt8(ascii: ";"), maxSplits: 1, omittingEmptySubsequences: false)
        let sizeText = parts[0]
        guard !sizeText.isEmpty, sizeText.count <= 16, let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16), size >= 0 else {
            throw Self.malformed("a chunk size is not hexadecimal.")
        }
        if signed {
            let prefix = Array("chunk-signature=".utf8)
            guard parts.count == 2, parts[1].starts(with: prefix),
                  let signature = Hex.decodeLowercase(String(decoding: parts[1].dropFirst(prefix.count), as: UTF8.self)),
                  signature.count == 32 else {
                throw Self.malformed("a chunk header lacks a valid chunk-signature.")
            }
            pendingSignature = signature
        }
        if size > 0 {
            state = .data(remaining: size)
        } else {
            try verifyChunk(digest: SHA256().finalize())
            state = .trailer
        }
    }

    private mutating func trailerLine(_ text: [UInt8]) throws {
        if text.isEmpty {
            if expectsTrailer && signed {
                guard let claimed = trailerSignature, let current = chain else {
                    throw SigV4Error(.signatureDoesNotMatch, "The trailer has no x-amz-trailer-signature.")
                }
                let expected = current.expectedTrailerSignature(canonicalTrailer: ChunkSigner.canonicalTrailer(trailers))
                guard constantTimeEquals(expected, claimed) else {
                    throw SigV4Error(.signatureDoesNotMatch, "The trailer signature we calculated does not match the x-amz-trailer-signature you provided.")
                }
            }
            state = .done
            return
        }
        guard expectsTrailer else { throw Self.malformed("a trailer was sent but x-amz-content-sha256 announces none.") }
        guard let colon = text.firstIndex(of: UInt8(ascii: ":")) else { throw Self.malformed("a trailer line has no ':'.") }
        let name = Canonical.lowercasedName(String(decoding: text[..<colon], as: UTF8.self))
        let value = String(String(decoding: text[(colon + 1)...], as: UTF8.self).trimmingSpaces)
        if name == "x-amz-trailer-signature" {
            guard signed, let signature = Hex.decodeLowercase(value), signature.count == 32 else {
                throw Self.malformed("x-amz-trailer-signature is not a signature.")
            }
            trailerSignature = signature
        } else {
            guard trailerSignature == nil else { throw Self.malformed("a trailer follows x-amz-trailer-signature.") }
            trailers.append((name, value))
        }
    }
}

extension ChunkSigner {
    mutating func advance(to signature: [UInt8]) {
        previousSignature = Hex.encode(signature)
    }
}
