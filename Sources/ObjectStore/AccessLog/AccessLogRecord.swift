import Foundation
import SigV4

/// One request as S3's server access log records it: a line of space-separated fields,
/// `-` for an absent one.
///
/// ```text
/// OWNER photos [06/Feb/2019:00:00:38 +0000] 127.0.0.1 AKIA… 3E57427F33A59F07 REST.GET.OBJECT cats/1.jpg
///   "GET /photos/cats/1.jpg?X-Amz-Signature=REDACTED HTTP/1.1" 200 - 2662 2662 4 4 "-" "curl/8.5.0" - 3E57427F33A59F07
///   SigV4 - QueryString 127.0.0.1:9000 - - -
/// ```
///
/// Every field that holds bytes a client chose is written so that it cannot end the line or
/// forge another field: the key and the `Host` header percent-encoded, the request URI, referrer
/// and user agent quoted with `"`, `\` and control characters escaped. Signatures and session
/// tokens in the request URI (and in a referrer that is a pre-signed URL) are replaced by
/// `REDACTED`; the `Authorization` header is never read.
struct AccessLogRecord: Sendable {
    /// The canonical id of the bucket's owner.
    var bucketOwner: String
    /// The logged bucket.
    var bucket: String
    /// When the request arrived.
    var time: Date
    /// The client's address.
    var remoteIP: String?
    /// The access key id that signed the request; `nil` for an anonymous or refused signature.
    var requester: String?
    /// The request id (`x-amz-request-id`).
    var requestId: String
    /// `REST.<METHOD>.<RESOURCE>`, e.g. `REST.GET.OBJECT`.
    var operation: String
    /// The object key (decoded; written percent-encoded).
    var key: String?
    /// The method (`GET`).
    var method: String
    /// The raw path as received (still percent-encoded).
    var rawPath: String
    /// The raw query as received; credentials in it are redacted when written.
    var rawQuery: String
    /// The response's status code.
    var httpStatus: Int
    /// S3's error code, for a failed request.
    var errorCode: String?
    /// Response body bytes (`-` when zero).
    var bytesSent: Int64?
    /// The size of the object the request read or wrote.
    var objectSize: Int64?
    /// Milliseconds from the request's arrival to its response.
    var totalTime: Int64
    /// Milliseconds the store spent before answering.
    var turnaroundTime: Int64?
    /// The `Referer` header.
    var referrer: String?
    /// The `User-Agent` header.
    var userAgent: String?
    /// The version the request read or wrote.
    var versionId: String?
    /// The `x-amz-id-2` of the response.
    var hostId: String
    /// `SigV4` (or `SigV2` for a refused version-2 signature).
    var signatureVersion: String?
    /// `AuthHeader` or `QueryString`.
    var authenticationType: String?
    /// The `Host` header.
    var hostHeader: String?

    /// Query parameters whose values are secrets or signatures (compared case-insensitively).
    static let redactedParameters: Set<String> = ["x-amz-signature", "x-amz-security-token", "signature"]
    /// What a redacted value is written as.
    static let redacted = "REDACTED"

    /// The record as one log line, ending in `\n`.
    var line: String {
        var out = ""
        out.reserveCapacity(512)
        func field(_ text: String) {
            out.append(text)
            out.append(" ")
        }
        field(Self.bare(bucketOwner))
        field(Self.bare(bucket))
        field(Self.timestamp(time))
        field(Self.bare(remoteIP))
        field(Self.bare(requester))
        field(Self.bare(requestId))
        field(Self.bare(operation))
        field(key.map(S3URIEncoding.encodePath) ?? "-")
        let query = rawQuery.isEmpty ? "" : "?" + Self.redactQuery(rawQuery)
        field(Self.quoted("\(method) \(rawPath)\(query) HTTP/1.1"))
        field(String(httpStatus))
        field(Self.bare(errorCode))
        field(Self.count(bytesSent))
        field(Self.count(objectSize))
        field(String(totalTime))
        field(turnaroundTime.map { String($0) } ?? "-")
        field(Self.quoted(referrer.map(Self.redactURL)))
        field(Self.quoted(userAgent))
        field(Self.bare(versionId))
        field(Self.bare(hostId))
        field(Self.bare(signatureVersion))
        field("-")  // cipher suite: the store serves plain HTTP
        field(Self.bare(authenticationType))
        field(Self.bare(hostHeader))
        field("-")  // TLS version
        field("-")  // access point ARN
        out.append("-")  // ACL required: the store has no ACLs
        out.append("\n")
        return out
    }

    // MARK: Field encodings

    /// `[06/Feb/2019:00:00:38 +0000]`.
    static func timestamp(_ date: Date) -> String {
        let f = AMZDate(date).fields
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let month = (1...12).contains(f.month) ? months[Int(f.month - 1)] : "Jan"
        return "[\(pad(f.day))/\(month)/\(f.year):\(pad(f.hour)):\(pad(f.minute)):\(pad(f.second)) +0000]"
    }

    static func pad(_ value: Int64) -> String { value < 10 ? "0\(value)" : String(value) }

    /// A count, `-` when absent or zero.
    static func count(_ value: Int64?) -> String {
        guard let value, value > 0 else { return "-" }
        return String(value)
    }

    /// An unquoted field: `-` when absent or empty; otherwise every byte outside printable
    /// ASCII, and `"` and `%`, percent-encoded, so the field holds no space and cannot end the line.
    static func bare(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "-" }
        let plain = text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "%") }
        if plain { return text }
        var out = ""
        for byte in text.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out.append("%")
                out.append(hex(byte))
            }
        }
        return out
    }

    /// A quoted field: `"-"` when absent; `"` and `\` escaped with `\`, and control characters
    /// (C0, DEL, C1) and Unicode's line and paragraph separators written as `\xHH` per UTF-8 byte,
    /// so no reader's line splitting can break it.
    static func quoted(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "\"-\"" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: out.append("\\\"")
            case 0x5C: out.append("\\\\")
            case 0x00..<0x20, 0x7F...0x9F, 0x2028, 0x2029:
                for byte in String(scalar).utf8 {
                    out.append("\\x")
                    out.append(hex(byte))
                }
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
        return out
    }

    static let hexDigits = Array("0123456789ABCDEF")

    /// Two uppercase hex digits.
    static func hex(_ byte: UInt8) -> String {
        String([hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
    }

    /// A raw query with the values of ``redactedParameters`` replaced by ``redacted``.
    static func redactQuery(_ rawQuery: String) -> String {
        rawQuery.split(separator: "&", omittingEmptySubsequences: false).map { part -> String in
            let rawName = part.firstIndex(of: "=").map { part[..<$0] } ?? part
            let name = S3URIEncoding.decode(rawName) ?? String(rawName)
            guard redactedParameters.contains(name.lowercased()) else { return String(part) }
            return "\(rawName)=\(redacted)"
        }.joined(separator: "&")
    }

    /// A URL (a `Referer`) with its query's signatures and tokens redacted.
    static func redactURL(_ url: String) -> String {
        guard let question = url.firstIndex(of: "?") else { return url }
        return String(url[...question]) + redactQuery(String(url[url.index(after: question)...]))
    }
}
