import Crypto
import HoistSupport

/// Literal payload hashes that stand in for a body's SHA-256 in a canonical request.
public enum PayloadHash {
    /// The body is not covered by the signature (pre-signed URLs, some header auth).
    public static let unsigned = "UNSIGNED-PAYLOAD"
    /// `aws-chunked` body, each chunk signed.
    public static let streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    /// `aws-chunked` body, each chunk signed, then a signed trailer.
    public static let streamingTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    /// `aws-chunked` body, chunks unsigned, then an unsigned trailer (checksums).
    public static let streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    /// SHA-256 of the empty string.
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The lowercase hex SHA-256 of `bytes`.
    public static func sha256<B: Sequence>(of bytes: B) -> String where B.Element == UInt8 {
        Hex.encode(SHA256.hash(data: Array(bytes)))
    }

    /// `true` for a value S3 accepts in `x-amz-content-sha256`.
    public static func isValid(_ value: String) -> Bool {
        switch value {
        case unsigned, streaming, streamingTrailer, streamingUnsignedTrailer: return true
        default:
            let u = value.utf8
            return u.count == 64 && u.allSatisfy { Hex.value(of: $0) != nil }
        }
    }
}

/// The text of a computed signature: what was signed, for tests and debugging.
public struct SigV4Signature: Sendable, Hashable {
    /// The canonical request (SigV4 “Create a canonical request”).
    public var canonicalRequest: String
    /// The string to sign (SigV4 “Create a string to sign”).
    public var stringToSign: String
    /// The lowercase hex signature.
    public var signature: String
}

/// Building blocks of the canonical request and the string to sign, written
/// into byte buffers (no `String` concatenation on the hot path).
enum Canonical {
    static let algorithm = "AWS4-HMAC-SHA256"
    static let algorithmBytes: [UInt8] = Array(algorithm.utf8)
    static let newline = UInt8(ascii: "\n")

    /// SigV4's “trimall”: strip leading and trailing whitespace, collapse inner runs of spaces to one.
    static func appendTrimmedValue(_ value: some StringProtocol, to buffer: inout [UInt8]) {
        // Fast path: nothing to trim or collapse, copy in bulk.
        let copied: Bool? = value.utf8.withContiguousStorageIfAvailable { p in
            guard let first = p.first, let last = p.last, !isSpace(first), !isSpace(last) else { return false }
            var previousSpace = false
            for c in p {
                if c == UInt8(ascii: " ") {
                    if previousSpace { return false }
                    previousSpace = true
                } else if isSpace(c) {
                    return false
                } else {
                    previousSpace = false
                }
            }
            buffer.append(contentsOf: p)
            return true
        }
        if copied == true { return }
        var pendingSpace = false
        var started = false
        for c in value.utf8 {
            if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r") {
                if started { pendingSpace = true }
                continue
            }
            if pendingSpace {
                buffer.append(UInt8(ascii: " "))
                pendingSpace = false
            }
            started = true
            buffer.append(c)
        }
    }

    @inline(__always)
    static func isSpace(_ c: UInt8) -> Bool {
        c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n") || c == UInt8(ascii: "\r")
    }

    /// Lowercases ASCII letters of a header name.
    static func lowercasedName(_ name: some StringProtocol) -> String {
        var needs = false
        for c in name.utf8 where c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z") { needs = true; break }
        guard needs else { return String(name) }
        let count = name.utf8.count
        return String(unsafeUninitializedCapacity: count) { out in
            var i = 0
            for c in name.utf8 {
                out[i] = (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) ? c | 0x20 : c
                i += 1
            }
            return i
        }
    }

    /// Canonical headers for the given (lowercased) names: each name once,
    /// sorted, values of repeated headers joined with `,` in arrival order.
    /// Returns the canonical header block and the signed-headers list.
    static func headers(_ fields: [(name: String, value: String)]) -> (block: [UInt8], signedHeaders: String) {
        var grouped: [(name: String, values: [String])] = []
        for (name, value) in fields {
            let lower = lowercasedName(name)
            if let i = grouped.firstIndex(where: { $0.name == lower }) {
                grouped[i].values.append(value)
            } else {
                grouped.append((lower, [value]))
            }
        }
        grouped.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        var block: [UInt8] = []
        block.reserveCapacity(256)
        var signed: [UInt8] = []
        for (i, entry) in grouped.enumerated() {
            block.append(contentsOf: entry.name.utf8)
            block.append(UInt8(ascii: ":"))
            for (j, v) in entry.values.enumerated() {
                if j > 0 { block.append(UInt8(ascii: ",")) }
                appendTrimmedValue(v, to: &block)
            }
            block.append(newline)
            if i > 0 { signed.append(UInt8(ascii: ";")) }
            signed.append(contentsOf: entry.name.utf8)
        }
        return (block, String(decoding: signed, as: UTF8.self))
    }

    /// A canonical query from decoded pairs: each name and value encoded,
    /// sorted by name then value (byte order of the encoded forms), joined by `&`.
    static func query(_ pairs: [(name: [UInt8], value: [UInt8])]) -> [UInt8] {
        var encoded: [(name: [UInt8], value: [UInt8])] = pairs.map { pair in
            var n: [UInt8] = []
            var v: [UInt8] = []
            S3URIEncoding.append(pair.name, keepSlash: false, to: &n)
            S3URIEncoding.append(pair.value, keepSlash: false, to: &v)
            return (n, v)
        }
        encoded.sort { a, b in
            a.name == b.name ? a.value.lexicographicallyPrecedes(b.value) : a.name.lexicographicallyPrecedes(b.name)
        }
        var out: [UInt8] = []
        out.reserveCapacity(encoded.reduce(0) { $0 + $1.name.count + $1.value.count + 2 })
        for (i, pair) in encoded.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "&")) }
            out.append(contentsOf: pair.name)
            out.append(UInt8(ascii: "="))
            out.append(contentsOf: pair.value)
        }
        return out
    }

    /// Assembles the canonical request:
    /// `method \n uri \n query \n headers \n signedHeaders \n payloadHash`.
    static func request(method: some StringProtocol, uri: [UInt8], query: [UInt8], headerBlock: [UInt8],
                        signedHeaders: some StringProtocol, payloadHash: some StringProtocol) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(uri.count + query.count + headerBlock.count + 160)
        out.append(contentsOf: method.utf8); out.append(newline)
        out.append(contentsOf: uri); out.append(newline)
        out.append(contentsOf: query); out.append(newline)
        out.append(contentsOf: headerBlock); out.append(newline)
        out.append(contentsOf: signedHeaders.utf8); out.append(newline)
        out.append(contentsOf: payloadHash.utf8)
        return out
    }

    /// `AWS4-HMAC-SHA256 \n amzDate \n scope \n hex(sha256(canonicalRequest))`.
    static func stringToSign(canonicalRequest: [UInt8], amzDate: [UInt8], scope: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(algorithmBytes.count + amzDate.count + scope.count + 67)
        out.append(contentsOf: algorithmBytes); out.append(newline)
        out.append(contentsOf: amzDate); out.append(newline)
        out.append(contentsOf: scope); out.append(newline)
        Hex.append(SHA256.hash(data: canonicalRequest), to: &out)
        return out
    }

    /// `yyyymmdd/region/service/aws4_request`.
    static func scope(date: some StringProtocol, region: String, service: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(40 + region.utf8.count)
        out.append(contentsOf: date.utf8); out.append(UInt8(ascii: "/"))
        out.append(contentsOf: region.utf8); out.append(UInt8(ascii: "/"))
        out.append(contentsOf: service.utf8)
        out.append(contentsOf: "/aws4_request".utf8)
        return out
    }
}
