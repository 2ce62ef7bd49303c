import Foundation
import HoistSupport

/// Signs requests with AWS Signature Version 4: `Authorization` headers,
/// pre-signed URLs (``presign(method:scheme:host:path:query:headers:expires:date:payloadHash:)``)
/// and browser POST policies (``signPOSTPolicy(_:date:)``).
///
/// Immutable and `Sendable`; derived signing keys come from a shared
/// ``SigningKeyCache``, so signing many requests derives the key once a day.
///
/// ```swift
/// let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
/// let url = try signer.presign(method: "PUT", scheme: "http", host: "127.0.0.1:9000",
///                              path: "/article-images/a.png", headers: [("Content-Type", "image/png")],
///                              expires: 900, date: .now).url
/// ```
public struct SigV4Signer: Sendable {
    /// The credentials that sign.
    public let credentials: SigV4Credentials
    /// The scope region, e.g. `us-east-1`.
    public let region: String
    /// The scope service, `s3` for S3.
    public let service: String
    /// Whether to remove dot segments and empty segments from paths before
    /// signing. S3 never does (the default); generic AWS services do.
    public let normalizePath: Bool

    let keyCache: SigningKeyCache
    /// The key of the day last signed for: most calls hit it without hashing strings.
    let recentKey = RecentSigningKey()
    /// `/region/service/aws4_request`, appended after the date in every scope.
    let scopeSuffix: [UInt8]
    /// `AKID%2F`, the start of the encoded `X-Amz-Credential` value.
    let encodedCredentialPrefix: [UInt8]
    /// `%2Fregion%2Fservice%2Faws4_request`, its end.
    let encodedScopeSuffix: [UInt8]
    let encodedSessionToken: [UInt8]?

    /// Creates a signer.
    /// - Parameters:
    ///   - credentials: the access key that signs.
    ///   - region: the region of the credential scope.
    ///   - service: the service of the credential scope (`s3`).
    ///   - normalizePath: normalise paths before signing (never for S3).
    ///   - keyCache: where derived signing keys are kept.
    public init(credentials: SigV4Credentials, region: String, service: String = "s3",
                normalizePath: Bool = false, keyCache: SigningKeyCache = .shared) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizePath = normalizePath
        self.keyCache = keyCache
        self.scopeSuffix = Array("/\(region)/\(service)/aws4_request".utf8)
        var prefix: [UInt8] = []
        S3URIEncoding.append(credentials.accessKeyId.utf8, keepSlash: false, to: &prefix)
        prefix.append(contentsOf: "%2F".utf8)
        self.encodedCredentialPrefix = prefix
        var suffix: [UInt8] = []
        S3URIEncoding.append("/\(region)/\(service)/aws4_request".utf8, keepSlash: false, to: &suffix)
        self.encodedScopeSuffix = suffix
        self.encodedSessionToken = credentials.sessionToken.map { token in
            var out: [UInt8] = []
            S3URIEncoding.append(token.utf8, keepSlash: false, to: &out)
            return out
        }
    }

    /// The signing key for the day of `date`.
    public func signingKey(for date: AMZDate) -> SigningKey {
        let day = date.secondsSince1970 >= 0 ? date.secondsSince1970 / 86400 : (date.secondsSince1970 - 86399) / 86400
        if let key = recentKey.key(forDay: day) { return key }
        let key = keyCache.key(secretAccessKey: credentials.secretAccessKey, date: date.dateStamp, region: region, service: service)
        recentKey.store(key, forDay: day)
        return key
    }

    func canonicalURI(_ path: String) -> [UInt8] {
        var decoded = Array(path.utf8)
        if decoded.isEmpty { decoded = [UInt8(ascii: "/")] }
        if normalizePath { decoded = S3URIEncoding.removeDotSegments(decoded) }
        var out: [UInt8] = []
        out.reserveCapacity(decoded.count + 16)
        S3URIEncoding.append(decoded, keepSlash: true, to: &out)
        return out
    }

    /// Headers a signer never signs: they change in transit or are the signature itself.
    static let unsignableHeaders: Set<String> = ["authorization", "user-agent", "expect", "x-amzn-trace-id"]

    /// Signs a request with an `Authorization` header (SigV4 header auth).
    ///
    /// - Parameters:
    ///   - method: the HTTP method.
    ///   - host: the `Host` header value (`bucket.s3.amazonaws.com`, `127.0.0.1:9000`).
    ///   - path: the decoded path (`/bucket/my key.png`); encoded once here.
    ///   - query: decoded query parameters; encoded and sorted here.
    ///   - headers: headers to sign and send (except `Host`, added from `host`).
    ///   - payloadHash: hex SHA-256 of the body, or a ``PayloadHash`` literal.
    ///   - date: the signing time.
    ///   - addContentSHA256Header: add and sign `x-amz-content-sha256` (S3 requires it).
    ///   - signSessionToken: sign `x-amz-security-token` (the default) or add it unsigned.
    /// - Returns: the headers to send, `Authorization` included.
    public func signHeaders(method: String, host: String, path: String, query: [(String, String)] = [],
                            headers: [(String, String)] = [], payloadHash: String, date: Date,
                            addContentSHA256Header: Bool = true, signSessionToken: Bool = true) -> SignedRequest {
        let amz = AMZDate(date)
        let amzDate = amz.amzString
        var toSign: [(name: String, value: String)] = [("host", host)]
        var send: [(String, String)] = [("Host", host)]
        for (name, value) in headers {
            let lower = Canonical.lowercasedName(name)
            // The signer sets these itself.
            if lower == "host" || lower == "authorization" || lower == "x-amz-date" || lower == "x-amz-security-token" { continue }
            send.append((name, value))
            if !Self.unsignableHeaders.contains(lower) { toSign.append((lower, value)) }
        }
        toSign.append(("x-amz-date", amzDate)); send.append(("X-Amz-Date", amzDate))
        if addContentSHA256Header && !toSign.contains(where: { $0.name == "x-amz-content-sha256" }) {
            toSign.append(("x-amz-content-sha256", payloadHash)); send.append(("x-amz-content-sha256", payloadHash))
        }
        if let token = credentials.sessionToken {
            send.append(("X-Amz-Security-Token", token))
            if signSessionToken { toSign.append(("x-amz-security-token", token)) }
        }
        let (block, signedHeaders) = Canonical.headers(toSign)
        let queryBytes = Canonical.query(query.map { (Array($0.0.utf8), Array($0.1.utf8)) })
        let canonical = Canonical.request(method: method, uri: canonicalURI(path), query: queryBytes,
                                          headerBlock: block, signedHeaders: signedHeaders, payloadHash: payloadHash)
        var scope = Array(amz.dateStamp.utf8)
        scope.append(contentsOf: scopeSuffix)
        let sts = Canonical.stringToSign(canonicalRequest: canonical, amzDate: Array(amzDate.utf8), scope: scope)
        let signature = Hex.encode(signingKey(for: amz).signature(of: sts))
        let authorization = "\(Canonical.algorithm) Credential=\(credentials.accessKeyId)/\(String(decoding: scope, as: UTF8.self)), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        send.append(("Authorization", authorization))
        return SignedRequest(headers: send, signature: signature, signedHeaders: signedHeaders, amzDate: amz,
                             canonicalRequestBytes: canonical, stringToSignBytes: sts)
    }
}

/// The result of header signing: the headers to send and what was signed.
public struct SignedRequest: Sendable {
    /// Every header to send, `Host`, `X-Amz-Date` and `Authorization` included.
    public let headers: [(String, String)]
    /// The lowercase hex signature (the seed signature of an `aws-chunked` body).
    public let signature: String
    /// The `;`-separated signed header names.
    public let signedHeaders: String
    /// The signing time.
    public let amzDate: AMZDate
    let canonicalRequestBytes: [UInt8]
    let stringToSignBytes: [UInt8]

    /// The canonical request, for debugging.
    public var canonicalRequest: String { String(decoding: canonicalRequestBytes, as: UTF8.self) }
    /// The string to sign, for debugging.
    public var stringToSign: String { String(decoding: stringToSignBytes, as: UTF8.self) }
    /// The value of the `Authorization` header.
    public var authorization: String { headers.last(where: { $0.0 == "Authorization" })?.1 ?? "" }
}
