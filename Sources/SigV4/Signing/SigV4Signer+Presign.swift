import Crypto
import Foundation

extension SigV4Signer {
    /// The longest lifetime SigV4 allows a pre-signed URL: seven days.
    public static let maximumExpiry = 604_800

    static let nameAlgorithm: [UInt8] = Array("X-Amz-Algorithm".utf8)
    static let nameCredential: [UInt8] = Array("X-Amz-Credential".utf8)
    static let nameDate: [UInt8] = Array("X-Amz-Date".utf8)
    static let nameExpires: [UInt8] = Array("X-Amz-Expires".utf8)
    static let nameSecurityToken: [UInt8] = Array("X-Amz-Security-Token".utf8)
    static let nameSignedHeaders: [UInt8] = Array("X-Amz-SignedHeaders".utf8)
    static let hostName: [UInt8] = Array("host".utf8)
    static let signatureParameter: [UInt8] = Array("&X-Amz-Signature=".utf8)
    static let reservedQueryNames: Set<String> = [
        "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
        "x-amz-security-token", "x-amz-signedheaders", "x-amz-signature",
    ]

    /// A header bound into a pre-signed URL: its lowercased name and its value.
    struct BoundHeader {
        var name: String
        var value: String
    }

    /// Pre-signs a URL (SigV4 query auth) that anyone holding it can use,
    /// until it expires, for exactly this method, path, query and headers.
    ///
    /// Every header in `headers` is bound into the signature: the client must
    /// send each with the same value, or storage answers `SignatureDoesNotMatch`.
    /// The lifetime is clamped to what the credentials have left
    /// (``SigV4Credentials/expiration``).
    ///
    /// - Parameters:
    ///   - method: the HTTP method the URL is for.
    ///   - scheme: `https` or `http`.
    ///   - host: the host, with the port when it is not the scheme's default.
    ///   - path: the decoded path (`/bucket/key with spaces.png`), encoded once here.
    ///   - query: extra decoded query parameters (`versionId`, `partNumber`, `uploadId`).
    ///   - headers: headers to bind (`Content-Type`, `Content-Length`, `If-None-Match`,
    ///     `x-amz-checksum-sha256`, …).
    ///   - expires: lifetime in seconds, 1…604800.
    ///   - date: the signing time.
    ///   - payloadHash: the canonical payload, `UNSIGNED-PAYLOAD` for S3.
    /// - Throws: ``SigV4Error`` `AuthorizationQueryParametersError` for an expiry
    ///   out of range or a reserved query name, `InvalidToken` when the credentials
    ///   have already expired.
    public func presign(method: String, scheme: String = "https", host: String, path: String,
                        query: [(String, String)] = [], headers: [(String, String)] = [],
                        expires: Int, date: Date, payloadHash: String = PayloadHash.unsigned) throws(SigV4Error) -> PresignedRequest {
        guard expires >= 1, expires <= Self.maximumExpiry else {
            throw SigV4Error(.authorizationQueryParametersError,
                             "X-Amz-Expires must be between 1 and \(Self.maximumExpiry) seconds; got \(expires).")
        }
        let amz = AMZDate(date)
        var lifetime = expires
        if let expiration = credentials.expiration {
            let left = Int(expiration.timeIntervalSince1970.rounded(.down)) - Int(amz.secondsSince1970)
            guard left >= 1 else {
                throw SigV4Error(.invalidToken, "The signing credentials have expired.")
            }
            lifetime = min(lifetime, left)
        }

        // Bound headers, lowercased and sorted (insertion sort: few, and stable,
        // so repeated names keep their order when joined with ',').
        var bound: [BoundHeader] = []
        var send = headers
        if !headers.isEmpty {
            bound.reserveCapacity(headers.count + 1)
            bound.append(BoundHeader(name: "host", value: host))
            for (name, value) in headers {
                let lower = Canonical.lowercasedName(name)
                if lower == "host" { continue }
                var i = bound.count
                bound.append(BoundHeader(name: lower, value: value))
                while i > 0, lower.utf8.lexicographicallyPrecedes(bound[i - 1].name.utf8) {
                    bound.swapAt(i, i - 1)
                    i -= 1
                }
            }
            if bound.count != headers.count + 1 {
                send = headers.filter { Canonical.lowercasedName($0.0) != "host" }
            }
        }

        // Extra query parameters, encoded and sorted; merged with the X-Amz-* ones below.
        var extras: [(name: [UInt8], value: [UInt8])] = []
        var extrasLength = 0
        if !query.isEmpty {
            extras.reserveCapacity(query.count)
            for (name, value) in query {
                if Self.reservedQueryNames.contains(name.lowercased()) {
                    throw SigV4Error(.authorizationQueryParametersError, "The query parameter \(name) is reserved for the signature.")
                }
                var n: [UInt8] = []
                var v: [UInt8] = []
                S3URIEncoding.append(name.utf8, keepSlash: false, to: &n)
                S3URIEncoding.append(value.utf8, keepSlash: false, to: &v)
                extrasLength += n.count + v.count + 2
                extras.append((n, v))
            }
            extras.sort { a, b in
                a.name == b.name ? a.value.lexicographicallyPrecedes(b.value) : a.name.lexicographicallyPrecedes(b.name)
            }
        }

        // An upper bound of the canonical request's length.
        var headersLength = 6 + host.utf8.count
        for h in bound { headersLength += h.name.utf8.count * 2 + h.value.utf8.count + 3 }
        let pathLength = normalizePath ? path.utf8.count * 3 + 1 : path.utf8.count * 3 + 1
        let capacity = method.utf8.count + pathLength + extrasLength + headersLength * 4 + payloadHash.utf8.count
            + encodedCredentialPrefix.count + encodedScopeSuffix.count + (encodedSessionToken?.count ?? 0) + 200

        // The canonical request, written once; the URL copies its path and query out of it.
        let fields = amz.fields
        var uriStart = 0, uriEnd = 0, queryStart = 0, queryEnd = 0
        let canonical = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            var w = ByteWriter(buffer)
            w.put(method)
            w.put(Canonical.newline)
            uriStart = w.count
            if path.isEmpty {
                w.put(UInt8(ascii: "/"))
            } else if normalizePath {
                S3URIEncoding.removeDotSegments(Array(path.utf8)).withUnsafeBufferPointer { w.putEncoded($0, keepSlash: true) }
            } else {
                w.putEncoded(path, keepSlash: true)
            }
            uriEnd = w.count
            w.put(Canonical.newline)

            // The query: the X-Amz-* parameters in their sorted order, extra ones merged in.
            queryStart = w.count
            var nextExtra = 0
            var first = true
            for std in 0..<6 {
                let name: [UInt8]
                switch std {
                case 0: name = Self.nameAlgorithm
                case 1: name = Self.nameCredential
                case 2: name = Self.nameDate
                case 3: name = Self.nameExpires
                case 4:
                    guard encodedSessionToken != nil else { continue }
                    name = Self.nameSecurityToken
                default: name = Self.nameSignedHeaders
                }
                while nextExtra < extras.count, extras[nextExtra].name.lexicographicallyPrecedes(name) {
                    if !first { w.put(UInt8(ascii: "&")) }
                    first = false
                    w.put(extras[nextExtra].name)
                    w.put(UInt8(ascii: "="))
                    w.put(extras[nextExtra].value)
                    nextExtra += 1
                }
                if !first { w.put(UInt8(ascii: "&")) }
                first = false
                w.put(name)
                w.put(UInt8(ascii: "="))
                switch std {
                case 0: w.put(Canonical.algorithmBytes)
                case 1:
                    w.put(encodedCredentialPrefix)
                    w.putAMZ(fields, dateOnly: true)
                    w.put(encodedScopeSuffix)
                case 2: w.putAMZ(fields)
                case 3: w.putDecimal(lifetime)
                case 4: w.put(encodedSessionToken ?? [])
                default:
                    if bound.isEmpty {
                        w.put(Self.hostName)
                    } else {
                        for (i, h) in bound.enumerated() where i == 0 || h.name != bound[i - 1].name {
                            if i > 0 { w.put(UInt8(ascii: "%")); w.put(UInt8(ascii: "3")); w.put(UInt8(ascii: "B")) }
                            w.putEncoded(h.name, keepSlash: false)
                        }
                    }
                }
            }
            while nextExtra < extras.count {
                w.put(UInt8(ascii: "&"))
                w.put(extras[nextExtra].name)
                w.put(UInt8(ascii: "="))
                w.put(extras[nextExtra].value)
                nextExtra += 1
            }
            queryEnd = w.count
            w.put(Canonical.newline)

            // Canonical headers, then the signed header names.
            if bound.isEmpty {
                w.put(Self.hostName)
                w.put(UInt8(ascii: ":"))
                w.putTrimmed(host)
                w.put(Canonical.newline)
                w.put(Canonical.newline)
                w.put(Self.hostName)
            } else {
                for (i, h) in bound.enumerated() {
                    if i > 0 && h.name == bound[i - 1].name {
                        w.put(UInt8(ascii: ","))  // a repeated header: values joined with ','
                    } else {
                        if i > 0 { w.put(Canonical.newline) }
                        w.put(h.name)
                        w.put(UInt8(ascii: ":"))
                    }
                    w.putTrimmed(h.value)
                }
                w.put(Canonical.newline)
                w.put(Canonical.newline)
                for (i, h) in bound.enumerated() where i == 0 || h.name != bound[i - 1].name {
                    if i > 0 { w.put(UInt8(ascii: ";")) }
                    w.put(h.name)
                }
            }
            w.put(Canonical.newline)
            w.put(payloadHash)
            initialized = w.count
        }

        // The string to sign: algorithm, date, scope, hash of the canonical request.
        var hasher = SHA256()
        canonical.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        let digest = hasher.finalize()
        let key = signingKey(for: amz)
        let stsCapacity = Canonical.algorithmBytes.count + 27 + scopeSuffix.count + 64

        // The URL: scheme://host + path + ? + canonical query + &X-Amz-Signature=hex.
        // The string to sign is built in temporary memory and signed straight into the URL.
        let length = scheme.utf8.count + 3 + host.utf8.count + (uriEnd - uriStart) + 1 + (queryEnd - queryStart)
            + Self.signatureParameter.count + 64
        let url = String(unsafeUninitializedCapacity: length) { out in
            var w = ByteWriter(out)
            w.put(scheme)
            w.put(UInt8(ascii: ":")); w.put(UInt8(ascii: "/")); w.put(UInt8(ascii: "/"))
            w.put(host)
            canonical.withUnsafeBufferPointer { c in
                w.put(UnsafeBufferPointer(rebasing: c[uriStart..<uriEnd]))
                w.put(UInt8(ascii: "?"))
                w.put(UnsafeBufferPointer(rebasing: c[queryStart..<queryEnd]))
            }
            w.put(Self.signatureParameter)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: stsCapacity + 32) { scratch in
                var sts = ByteWriter(UnsafeMutableBufferPointer(rebasing: scratch[0..<stsCapacity]))
                writeStringToSign(&sts, fields: fields, digest: digest)
                let mac = UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: scratch[stsCapacity...]))
                key.hmac.authenticationCode(for: UnsafeRawBufferPointer(start: sts.base, count: sts.count), into: mac)
                w.putHex(UnsafeRawBufferPointer(mac))
            }
            return w.count
        }

        return PresignedRequest(url: url, method: method, headers: send, expiresIn: lifetime, signedAt: amz,
                                canonicalRequestBytes: canonical, scopeSuffix: scopeSuffix)
    }

    /// `AWS4-HMAC-SHA256 \n amzDate \n yyyymmdd/region/service/aws4_request \n hex(digest)`.
    func writeStringToSign(_ w: inout ByteWriter, fields: AMZDate.Fields, digest: SHA256.Digest) {
        Self.writeStringToSign(&w, fields: fields, scopeSuffix: scopeSuffix, digest: digest)
    }

    static func writeStringToSign(_ w: inout ByteWriter, fields: AMZDate.Fields, scopeSuffix: [UInt8], digest: SHA256.Digest) {
        w.put(Canonical.algorithmBytes)
        w.put(Canonical.newline)
        w.putAMZ(fields)
        w.put(Canonical.newline)
        w.putAMZ(fields, dateOnly: true)
        w.put(scopeSuffix)
        w.put(Canonical.newline)
        digest.withUnsafeBytes { w.putHex($0) }
    }
}

/// A pre-signed URL and what the client must send with it.
public struct PresignedRequest: Sendable {
    /// The URL, `X-Amz-Signature` last.
    public let url: String
    /// The method the URL is signed for.
    public let method: String
    /// Headers the client must send with exactly these values (`Host` aside).
    public let headers: [(String, String)]
    /// The lifetime in seconds, after any clamping to the credentials' expiry.
    public let expiresIn: Int
    /// The signing time (`X-Amz-Date`).
    public let signedAt: AMZDate
    let canonicalRequestBytes: [UInt8]
    let scopeSuffix: [UInt8]

    /// The lowercase hex signature (the URL's last 64 characters).
    public var signature: String { String(decoding: url.utf8.suffix(64), as: UTF8.self) }
    /// When the URL stops working.
    public var expiresAt: Date { Date(timeIntervalSince1970: TimeInterval(signedAt.secondsSince1970 + Int64(expiresIn))) }
    /// The canonical request, for debugging.
    public var canonicalRequest: String { String(decoding: canonicalRequestBytes, as: UTF8.self) }
    /// The string to sign, for debugging (recomputed from the canonical request).
    public var stringToSign: String {
        let digest = SHA256.hash(data: canonicalRequestBytes)
        let capacity = Canonical.algorithmBytes.count + 27 + scopeSuffix.count + 64
        return String(unsafeUninitializedCapacity: capacity) { out in
            var w = ByteWriter(out)
            SigV4Signer.writeStringToSign(&w, fields: signedAt.fields, scopeSuffix: scopeSuffix, digest: digest)
            return w.count
        }
    }
}
