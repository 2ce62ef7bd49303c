import Foundation
import HoistSupport

/// A request as it arrived on the wire, the verifier's input.
///
/// The path and query are the raw, still percent-encoded text of the request
/// line; headers are in arrival order, repeated names allowed.
public struct ReceivedRequest: Sendable {
    /// The HTTP method.
    public var method: String
    /// The raw path, e.g. `/bucket/my%20key.png`.
    public var path: String
    /// The raw query without `?`, e.g. `X-Amz-Algorithm=…&versionId=…`.
    public var query: String
    /// The headers as received.
    public var headers: [(String, String)]

    /// Creates a request from its parts.
    public init(method: String, path: String, query: String, headers: [(String, String)]) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
    }

    /// Creates a request from the request-target (`/path?query`) of the request line.
    public init(method: String, target: String, headers: [(String, String)]) {
        if let q = target.firstIndex(of: "?") {
            self.init(method: method, path: String(target[..<q]), query: String(target[target.index(after: q)...]), headers: headers)
        } else {
            self.init(method: method, path: target, query: "", headers: headers)
        }
    }

    /// All values of the header `name` (case-insensitive), in arrival order.
    public func values(of name: String) -> [String] {
        headers.compactMap { $0.0.caseInsensitiveEquals(name) ? $0.1 : nil }
    }

    /// The first value of the header `name` (case-insensitive).
    public func value(of name: String) -> String? {
        headers.first { $0.0.caseInsensitiveEquals(name) }?.1
    }
}

extension StringProtocol {
    func caseInsensitiveEquals(_ other: some StringProtocol) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in
            x == y || ((x | 0x20) == (y | 0x20) && (x | 0x20) >= UInt8(ascii: "a") && (x | 0x20) <= UInt8(ascii: "z"))
        }
    }
}

/// Looks up the credentials for an access key id (the verifier's key store).
public protocol SigV4CredentialStore: Sendable {
    /// The credentials of `accessKeyId`, or `nil` when it is unknown.
    func credentials(for accessKeyId: String) -> SigV4Credentials?
}

/// A fixed set of credentials, for a store with one or a few keys.
public struct StaticCredentialStore: SigV4CredentialStore {
    private let byId: [String: SigV4Credentials]
    /// Creates a store holding `credentials`.
    public init(_ credentials: [SigV4Credentials]) {
        var byId: [String: SigV4Credentials] = [:]
        for c in credentials { byId[c.accessKeyId] = c }
        self.byId = byId
    }
    public func credentials(for accessKeyId: String) -> SigV4Credentials? { byId[accessKeyId] }
}

/// How a request was authenticated.
public enum SigV4AuthKind: String, Sendable {
    /// An `Authorization` header.
    case header
    /// A pre-signed URL (`X-Amz-*` query parameters).
    case query
    /// A browser POST form with a signed policy.
    case post
}

/// A request that passed verification: who signed it and what they promised.
public struct SigV4Authentication: Sendable {
    /// How the request was signed.
    public let kind: SigV4AuthKind
    /// The credentials that signed it.
    public let credentials: SigV4Credentials
    /// The signing time (`X-Amz-Date`).
    public let date: AMZDate
    /// `yyyymmdd/region/service/aws4_request`.
    public let scope: String
    /// The lowercase hex signature: the seed of an `aws-chunked` body's chunk signatures.
    public let signature: String
    /// The canonical payload the signature covers: a hex SHA-256 the body must
    /// match, or a ``PayloadHash`` literal (`UNSIGNED-PAYLOAD`, `STREAMING-…`).
    public let payloadHash: String
    /// The lowercase names of the signed headers.
    public let signedHeaders: [String]
    /// For a pre-signed URL, when it expires.
    public let expiresAt: AMZDate?
    /// The key that verified it (chunk signatures are checked with it).
    public let signingKey: SigningKey

    /// The access key id.
    public var accessKeyId: String { credentials.accessKeyId }
}

/// Verifies SigV4-signed requests on the server side, exactly as S3 does.
///
/// From what arrived on the wire it parses the `Authorization` header or the
/// `X-Amz-*` query, rebuilds the canonical request from the received method,
/// path, query and headers, and compares signatures in constant time. It
/// checks the credential scope, the date, expiry and clock skew. Each failure
/// carries S3's error code (``SigV4Error``).
///
/// ```swift
/// let verifier = SigV4Verifier(credentials: StaticCredentialStore([credentials]))
/// let auth = try verifier.verify(ReceivedRequest(method: "GET", target: "/b/k?X-Amz-…", headers: headers), now: .now)
/// ```
public struct SigV4Verifier: Sendable {
    /// Verification settings.
    public struct Options: Sendable {
        /// The region signatures must be scoped to; `nil` accepts any.
        public var region: String?
        /// The service signatures must be scoped to.
        public var service: String
        /// The largest distance, in seconds, between a header-signed request's
        /// date and the server's clock (S3: 15 minutes).
        public var maxClockSkew: Int
        /// Normalise paths before verifying (never for S3).
        public var normalizePath: Bool
        /// The payload hash when a header-signed request has no
        /// `x-amz-content-sha256`; `nil` (S3) makes the header mandatory.
        public var payloadHashWhenHeaderAbsent: String?
        /// The payload hash of a pre-signed request without `X-Amz-Content-Sha256` in its query.
        public var queryPayloadHash: String
        /// Refuse requests carrying `x-amz-*` headers the signature does not cover, as S3 does
        /// (otherwise anyone holding a URL could add metadata, checksums or storage options).
        public var rejectUnsignedAmzHeaders: Bool

        /// Creates options; the defaults are S3's.
        public init(region: String? = "us-east-1", service: String = "s3", maxClockSkew: Int = 900,
                    normalizePath: Bool = false, payloadHashWhenHeaderAbsent: String? = nil,
                    queryPayloadHash: String = PayloadHash.unsigned, rejectUnsignedAmzHeaders: Bool = true) {
            self.region = region
            self.service = service
            self.maxClockSkew = maxClockSkew
            self.normalizePath = normalizePath
            self.payloadHashWhenHeaderAbsent = payloadHashWhenHeaderAbsent
            self.queryPayloadHash = queryPayloadHash
            self.rejectUnsignedAmzHeaders = rejectUnsignedAmzHeaders
        }
    }

    /// The verification settings.
    public let options: Options
    let credentialStore: any SigV4CredentialStore
    let keyCache: SigningKeyCache

    /// Creates a verifier.
    /// - Parameters:
    ///   - credentials: the access keys it accepts.
    ///   - options: region, service, skew and canonicalisation settings.
    ///   - keyCache: where derived signing keys are kept.
    public init(credentials: any SigV4CredentialStore, options: Options = Options(), keyCache: SigningKeyCache = .shared) {
        self.credentialStore = credentials
        self.options = options
        self.keyCache = keyCache
    }

    /// Verifies a header-signed or pre-signed request.
    ///
    /// - Parameters:
    ///   - request: the request as received.
    ///   - now: the server's clock.
    /// - Returns: the authentication, or `nil` for an anonymous request (no
    ///   `Authorization` header and no `X-Amz-Signature` in the query).
    /// - Throws: ``SigV4Error`` with S3's code.
    public func verify(_ request: ReceivedRequest, now: Date) throws(SigV4Error) -> SigV4Authentication? {
        let authorization = request.values(of: "authorization")
        let query = try Self.parseQuery(request.query)
        let hasQueryAuth = query.contains { pair in
            pair.nameBytes.count >= 15 && (pair.nameBytes[0] | 0x20) == UInt8(ascii: "x")
                && Self.queryAuthNames.contains(where: { pair.name.caseInsensitiveEquals($0) })
        }
        if !authorization.isEmpty && hasQueryAuth {
            throw SigV4Error(.invalidArgument, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
        }
        if authorization.count > 1 {
            throw SigV4Error(.authorizationHeaderMalformed, "The request has more than one Authorization header.")
        }
        if let header = authorization.first {
            return try verifyHeader(request, authorization: header, query: query, now: AMZDate(now))
        }
        if hasQueryAuth {
            return try verifyQuery(request, query: query, now: AMZDate(now))
        }
        return nil
    }

    static let queryAuthNames = ["X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders"]

    /// A decoded query parameter, with its raw name kept for case-sensitive matching.
    struct QueryPair {
        var name: String
        var nameBytes: [UInt8]
        var valueBytes: [UInt8]
        var value: String { String(decoding: valueBytes, as: UTF8.self) }
    }

    /// Splits a raw query on `&` and decodes each name and value (`+` stays `+`).
    static func parseQuery(_ raw: String) throws(SigV4Error) -> [QueryPair] {
        guard !raw.isEmpty else { return [] }
        var pairs: [QueryPair] = []
        for part in raw.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: UInt8(ascii: "="))
            let rawName = eq.map { part[part.startIndex..<$0] } ?? part[...]
            let rawValue = eq.map { part[part.index(after: $0)...] } ?? part[part.endIndex...]
            guard let name = S3URIEncoding.percentDecode(rawName), let value = S3URIEncoding.percentDecode(rawValue) else {
                throw SigV4Error(.invalidURI, "Couldn't parse the specified URI: a query parameter has a malformed percent escape.")
            }
            pairs.append(QueryPair(name: String(decoding: name, as: UTF8.self), nameBytes: name, valueBytes: value))
        }
        return pairs
    }

    /// A parsed credential: `AKID/yyyymmdd/region/service/aws4_request`.
    struct CredentialScope {
        var accessKeyId: String
        var date: String
        var region: String
        var service: String

        var scope: String { "\(date)/\(region)/\(service)/aws4_request" }

        init?(_ text: String) {
            let parts = text.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            guard parts.count == 5, parts[4].elementsEqual("aws4_request".utf8), !parts[0].isEmpty, parts[1].count == 8,
                  parts[1].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  !parts[2].isEmpty, !parts[3].isEmpty,
                  let id = String(parts[0]), let date = String(parts[1]), let region = String(parts[2]),
                  let service = String(parts[3]) else { return nil }
            accessKeyId = id; self.date = date; self.region = region; self.service = service
        }
    }

    /// Checks a credential scope against the signing date and the configured region and service.
    func checkScope(_ credential: CredentialScope, date: AMZDate, code: SigV4Error.Code) throws(SigV4Error) {
        guard credential.date == date.dateStamp else {
            throw SigV4Error(code, "Invalid credential date \"\(credential.date)\". This date is not the same as X-Amz-Date: \"\(date.dateStamp)\".")
        }
        if let region = options.region, credential.region != region {
            let what = code == .authorizationHeaderMalformed ? "The authorization header is malformed; the" : "The credential's"
            throw SigV4Error(code, "\(what) region '\(credential.region)' is wrong; expecting '\(region)'")
        }
        guard credential.service == options.service else {
            throw SigV4Error(code, "The credential is scoped to the service '\(credential.service)'; expecting '\(options.service)'.")
        }
    }

    /// Finds the credentials and checks the session token.
    func lookUp(_ accessKeyId: String, sessionToken: String?) throws(SigV4Error) -> SigV4Credentials {
        guard let credentials = credentialStore.credentials(for: accessKeyId) else {
            throw SigV4Error(.invalidAccessKeyId, "The AWS Access Key Id you provided does not exist in our records.")
        }
        switch (credentials.sessionToken, sessionToken) {
        case (nil, nil):
            break
        case let (expected?, given?):
            guard constantTimeEquals(Array(expected.utf8), Array(given.utf8)) else {
                throw SigV4Error(.invalidToken, "The provided token is malformed or otherwise invalid.")
            }
        case (_?, nil):
            throw SigV4Error(.missingSecurityHeader, "Your request was missing a required header: x-amz-security-token.")
        case (nil, _?):
            throw SigV4Error(.invalidToken, "The provided token is malformed or otherwise invalid.")
        }
        return credentials
    }

    /// Canonical headers from the request's values of each signed header.
    func canonicalHeaders(_ request: ReceivedRequest, signedHeaders: [String]) -> [UInt8] {
        var block: [UInt8] = []
        block.reserveCapacity(256)
        let lowered = request.headers.map { (Canonical.lowercasedName($0.0), $0.1) }
        for name in signedHeaders {
            block.append(contentsOf: name.utf8)
            block.append(UInt8(ascii: ":"))
            var first = true
            for (n, v) in lowered where n == name {
                if !first { block.append(UInt8(ascii: ",")) }
                Canonical.appendTrimmedValue(v, to: &block)
                first = false
            }
            block.append(Canonical.newline)
        }
        return block
    }

    /// Parses and checks a `SignedHeaders` list: lowercase names separated by `;`, `host` among them.
    func parseSignedHeaders(_ text: String, code: SigV4Error.Code) throws(SigV4Error) -> [String] {
        let names = text.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).compactMap { String($0) }
        guard !names.isEmpty, names.allSatisfy({ name in
            !name.isEmpty && !name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
        }) else {
            throw SigV4Error(code, "SignedHeaders must be a ';'-separated list of lowercase header names.")
        }
        guard names.contains("host") else {
            throw SigV4Error(code, "The host header must be signed.")
        }
        return names
    }

    /// Refuses `x-amz-*` headers that are not signed (S3's `AccessDenied`, "headers … not signed").
    func checkAmzHeadersSigned(_ request: ReceivedRequest, signedHeaders: [String]) throws(SigV4Error) {
        guard options.rejectUnsignedAmzHeaders else { return }
        for (name, _) in request.headers where name.utf8.count > 6 && (name.utf8.first ?? 0) | 0x20 == UInt8(ascii: "x") {
            let lower = Canonical.lowercasedName(name)
            guard lower.hasPrefix("x-amz-"), !signedHeaders.contains(lower) else { continue }
            throw SigV4Error(.accessDenied, "There were headers present in the request which were not signed: \(lower)")
        }
    }

    /// Rebuilds the canonical request, computes the signature and compares it in constant time.
    func check(signatureHex: String, request: ReceivedRequest, canonicalQuery: [UInt8], signedHeaders: [String],
               signedHeadersText: String, payloadHash: String, date: AMZDate, credential: CredentialScope,
               credentials: SigV4Credentials) throws(SigV4Error) -> SigningKey {
        guard let claimed = Hex.decodeLowercase(signatureHex), claimed.count == 32 else {
            throw SigV4Error.signatureMismatch()
        }
        guard let uri = S3URIEncoding.canonicalPath(fromWire: Substring(request.path).utf8, normalize: options.normalizePath) else {
            throw SigV4Error(.invalidURI, "Couldn't parse the specified URI: the path has a malformed percent escape.")
        }
        let canonical = Canonical.request(method: request.method, uri: uri, query: canonicalQuery,
                                          headerBlock: canonicalHeaders(request, signedHeaders: signedHeaders),
                                          signedHeaders: signedHeadersText, payloadHash: payloadHash)
        var amzDate: [UInt8] = []
        date.appendAMZ(to: &amzDate)
        let scope = Canonical.scope(date: credential.date, region: credential.region, service: credential.service)
        let sts = Canonical.stringToSign(canonicalRequest: canonical, amzDate: amzDate, scope: scope)
        let key = keyCache.key(secretAccessKey: credentials.secretAccessKey, date: credential.date,
                               region: credential.region, service: credential.service)
        guard constantTimeEquals(key.signature(of: sts), claimed) else {
            throw SigV4Error.signatureMismatch()
        }
        return key
    }
}
