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
    static let reservedQueryNames: Set<String> = [
        "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires",
        "x-amz-security-token", "x-amz-signedheaders", "x-amz-signature",
    ]

    /// Pre-signs a URL (SigV4 query auth) that anyone holding it can use once,
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

        // Headers: host plus the bound ones, canonicalised and sorted.
        var toSign: [(name: String, value: String)] = [("host", host)]
        var send: [(String, String)] = []
        send.reserveCapacity(headers.count)
        for (name, value) in headers {
            let lower = Canonical.lowercasedName(name)
            if lower == "host" { continue }
            toSign.append((lower, value))
            send.append((name, value))
        }
        let (headerBlock, signedHeaders) = toSign.count == 1
            ? (Array("host:\(host)\n".utf8), "host")
            : Canonical.headers(toSign)

        // The date forms.
        var amzDate: [UInt8] = []
        amzDate.reserveCapacity(16)
        amz.appendAMZ(to: &amzDate)
        let dateStamp = amzDate[0..<8]

        // The canonical query: the X-Amz-* parameters and any extra ones, sorted.
        var credential = encodedCredentialPrefix
        credential.append(contentsOf: dateStamp)
        credential.append(contentsOf: encodedScopeSuffix)
        var encodedSignedHeaders: [UInt8] = []
        S3URIEncoding.append(signedHeaders.utf8, keepSlash: false, to: &encodedSignedHeaders)
        var params: [(name: [UInt8], value: [UInt8])] = [
            (Self.nameAlgorithm, Canonical.algorithmBytes),
            (Self.nameCredential, credential),
            (Self.nameDate, amzDate),
            (Self.nameExpires, Array(String(lifetime).utf8)),
        ]
        if let token = encodedSessionToken { params.append((Self.nameSecurityToken, token)) }
        params.append((Self.nameSignedHeaders, encodedSignedHeaders))
        if !query.isEmpty {
            for (name, value) in query {
                if Self.reservedQueryNames.contains(name.lowercased()) {
                    throw SigV4Error(.authorizationQueryParametersError, "The query parameter \(name) is reserved for the signature.")
                }
                var n: [UInt8] = []
                var v: [UInt8] = []
                S3URIEncoding.append(name.utf8, keepSlash: false, to: &n)
                S3URIEncoding.append(value.utf8, keepSlash: false, to: &v)
                params.append((n, v))
            }
            params.sort { a, b in
                a.name == b.name ? a.value.lexicographicallyPrecedes(b.value) : a.name.lexicographicallyPrecedes(b.name)
            }
        }
        var canonicalQuery: [UInt8] = []
        canonicalQuery.reserveCapacity(320)
        for (i, p) in params.enumerated() {
            if i > 0 { canonicalQuery.append(UInt8(ascii: "&")) }
            canonicalQuery.append(contentsOf: p.name)
            canonicalQuery.append(UInt8(ascii: "="))
            canonicalQuery.append(contentsOf: p.value)
        }

        let uri = canonicalURI(path)
        let canonical = Canonical.request(method: method, uri: uri, query: canonicalQuery, headerBlock: headerBlock,
                                          signedHeaders: signedHeaders, payloadHash: payloadHash)
        var scope: [UInt8] = []
        scope.reserveCapacity(8 + scopeSuffix.count)
        scope.append(contentsOf: dateStamp)
        scope.append(contentsOf: scopeSuffix)
        let sts = Canonical.stringToSign(canonicalRequest: canonical, amzDate: amzDate, scope: scope)
        let key = keyCache.key(secretAccessKey: credentials.secretAccessKey, date: String(decoding: dateStamp, as: UTF8.self),
                               region: region, service: service)
        let mac = key.signature(of: sts)

        // The URL: scheme://host + path + ? + canonical query + &X-Amz-Signature=…
        var url: [UInt8] = []
        url.reserveCapacity(scheme.utf8.count + host.utf8.count + uri.count + canonicalQuery.count + 100)
        url.append(contentsOf: scheme.utf8)
        url.append(contentsOf: "://".utf8)
        url.append(contentsOf: host.utf8)
        url.append(contentsOf: uri)
        url.append(UInt8(ascii: "?"))
        url.append(contentsOf: canonicalQuery)
        url.append(contentsOf: "&X-Amz-Signature=".utf8)
        var signature: [UInt8] = []
        signature.reserveCapacity(64)
        Hex.append(mac, to: &signature)
        url.append(contentsOf: signature)

        return PresignedRequest(
            url: String(decoding: url, as: UTF8.self),
            method: method,
            headers: send,
            expiresIn: lifetime,
            signedAt: amz,
            signature: String(decoding: signature, as: UTF8.self),
            canonicalRequestBytes: canonical,
            stringToSignBytes: sts
        )
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
    /// The lowercase hex signature.
    public let signature: String
    let canonicalRequestBytes: [UInt8]
    let stringToSignBytes: [UInt8]

    /// When the URL stops working.
    public var expiresAt: Date { Date(timeIntervalSince1970: TimeInterval(signedAt.secondsSince1970 + Int64(expiresIn))) }
    /// The canonical request, for debugging.
    public var canonicalRequest: String { String(decoding: canonicalRequestBytes, as: UTF8.self) }
    /// The string to sign, for debugging.
    public var stringToSign: String { String(decoding: stringToSignBytes, as: UTF8.self) }
}
