import Foundation
import SigV4
import Testing

/// Round trips through our signer and verifier, tampering, expiry and the
/// error code of every failure.
@Suite("Verifier")
struct SigV4VerifierTests {
    static let credentials = SigV4Credentials(accessKeyId: "AKIDHOIST0000000TEST", secretAccessKey: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw")
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
    static let verifier = SigV4Verifier(credentials: StaticCredentialStore([credentials]))
    static let now = Date(timeIntervalSince1970: 1_764_000_000)  // fixed clock
    static let host = "127.0.0.1:9000"

    /// Keys S3 must sign exactly: spaces, `+`, `%`, `=`, `&`, `?`, `#`, `..`, emoji, other Unicode.
    static let awkwardKeys = [
        "plain.png", "my photo.png", "a+b.png", "100%.png", "a=b&c=d.png", "what?.png", "#hash.png",
        "../up/../x.png", "dir//double/./dot.png", "emoji-😀.png", "unicodé/中文/ключ.png", "tilde~under_score-dash.png",
        "sp ace+plus%25pct", "trailing/", "$dollar,comma;semi:colon@at!bang'quote(paren)*star.png",
    ]

    /// The path and query as a client puts them on the wire, from a URL we signed.
    static func target(of url: String) -> String {
        let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? Substring(url)
        return String(afterScheme[(afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex)...])
    }

    static func presign(_ key: String, method: String = "PUT", headers: [(String, String)] = [],
                        query: [(String, String)] = [], expires: Int = 900) throws -> PresignedRequest {
        try signer.presign(method: method, scheme: "http", host: host, path: "/bucket/\(key)", query: query,
                           headers: headers, expires: expires, date: now)
    }

    static func received(_ p: PresignedRequest, method: String? = nil, headers: [(String, String)]? = nil) -> ReceivedRequest {
        ReceivedRequest(method: method ?? p.method, target: target(of: p.url), headers: [("Host", host)] + (headers ?? p.headers))
    }

    @Test("a pre-signed URL verifies, for every awkward key", arguments: awkwardKeys)
    func presignedRoundTrip(_ key: String) throws {
        let p = try Self.presign(key, headers: [("Content-Type", "image/png"), ("Content-Length", "1234"), ("If-None-Match", "*")])
        let auth = try #require(try Self.verifier.verify(Self.received(p), now: Self.now))
        #expect(auth.kind == .query)
        #expect(auth.accessKeyId == Self.credentials.accessKeyId)
        #expect(auth.signedHeaders == ["content-length", "content-type", "host", "if-none-match"])
        // The key comes back exactly: decode the path the URL carries.
        let path = Self.target(of: p.url).split(separator: "?", maxSplits: 1)[0]
        #expect(S3URIEncoding.decode(path) == "/bucket/\(key)")
    }

    @Test("a header-signed request verifies, for every awkward key", arguments: awkwardKeys)
    func headerRoundTrip(_ key: String) throws {
        let body = Array("hello".utf8)
        let signed = Self.signer.signHeaders(method: "PUT", host: Self.host, path: "/bucket/\(key)",
                                             query: [("x-id", "PutObject"), ("tag", "a b+c")],
                                             headers: [("Content-Type", "image/png"), ("X-Amz-Meta-Note", "  two   spaces ")],
                                             payloadHash: PayloadHash.sha256(of: body), date: Self.now)
        let query = "x-id=PutObject&tag=a%20b%2Bc"
        let path = S3URIEncoding.encodePath("/bucket/\(key)")
        let auth = try Self.verifier.verify(ReceivedRequest(method: "PUT", path: path, query: query, headers: signed.headers), now: Self.now)
        #expect(auth?.kind == .header)
        #expect(auth?.payloadHash == PayloadHash.sha256(of: body))
    }

    @Test("one changed byte of method, path, query, signed header or signature is refused")
    func tampering() throws {
        let p = try Self.presign("photos/cat.png", headers: [("Content-Type", "image/png"), ("Content-Length", "52133")],
                                 query: [("versionId", "v1")])
        let good = Self.received(p)
        _ = try Self.verifier.verify(good, now: Self.now)

        var r = good; r.method = "GET"
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good; r.path = "/bucket/photos/cat.pnG"
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good; r.path = "/bucket/photos/../photos/cat.png"
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good; r.query = r.query.replacingOccurrences(of: "versionId=v1", with: "versionId=v2")
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good; r.query += "&extra=1"
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good; r.headers = r.headers.map { $0.0 == "Content-Type" ? ($0.0, "image/jpeg") : $0 }
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good; r.headers = r.headers.map { $0.0 == "Content-Length" ? ($0.0, "52134") : $0 }
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good; r.headers = r.headers.filter { $0.0 != "Content-Type" }
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good; r.headers = r.headers.map { $0.0 == "Host" ? ($0.0, "127.0.0.1:9001") : $0 }
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        // Every position of the signature.
        let signature = Array(p.signature)
        for i in signature.indices {
            var changed = signature
            changed[i] = changed[i] == "0" ? "1" : "0"
            r = good
            r.query = r.query.replacingOccurrences(of: p.signature, with: String(changed))
            expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        }
        // Uppercase hex is not the signature either.
        r = good; r.query = r.query.replacingOccurrences(of: p.signature, with: p.signature.uppercased())
        if p.signature != p.signature.uppercased() {
            expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        }
    }

    @Test("one byte changed in a header-signed request is refused")
    func headerTampering() throws {
        let signed = Self.signer.signHeaders(method: "PUT", host: Self.host, path: "/bucket/k", headers: [("Content-Type", "image/png")],
                                             payloadHash: PayloadHash.unsigned, date: Self.now)
        let good = ReceivedRequest(method: "PUT", path: "/bucket/k", query: "", headers: signed.headers)
        _ = try Self.verifier.verify(good, now: Self.now)
        for name in ["Content-Type", "X-Amz-Date", "x-amz-content-sha256", "Host"] {
            var r = good
            r.headers = r.headers.map { header in
                guard header.0 == name else { return header }
                var v = Array(header.1)
                v[v.count - 1] = v[v.count - 1] == "1" ? "2" : "1"
                return (header.0, String(v))
            }
            let error = #expect(throws: SigV4Error.self) { _ = try Self.verifier.verify(r, now: Self.now) }
            // A changed date may move the date out of its scope day or fail the hash check; all are refusals.
            #expect(error != nil, "\(name)")
        }
        // An unsigned extra header is fine (only signed headers are covered).
        var extra = good
        extra.headers.append(("User-Agent", "curl"))
        #expect(try Self.verifier.verify(extra, now: Self.now) != nil)
    }

    @Test("expiry: valid one second before, refused one second after")
    func expiry() throws {
        let p = try Self.presign("k", method: "GET", expires: 60)
        #expect(try Self.verifier.verify(Self.received(p), now: Self.now + 59) != nil)
        #expect(try Self.verifier.verify(Self.received(p), now: Self.now + 60) != nil)
        let error = #expect(throws: SigV4Error.self) { _ = try Self.verifier.verify(Self.received(p), now: Self.now + 61) }
        #expect(error?.code == .accessDenied)
        #expect(error?.message == "Request has expired")
        // Signed far in the future: not valid yet.
        expectError(.accessDenied) { _ = try Self.verifier.verify(Self.received(p), now: Self.now - 3600) }
    }

    @Test("header auth: ±15 minutes of clock skew, then RequestTimeTooSkewed")
    func skew() throws {
        let signed = Self.signer.signHeaders(method: "GET", host: Self.host, path: "/bucket/k", payloadHash: PayloadHash.emptySHA256, date: Self.now)
        let r = ReceivedRequest(method: "GET", path: "/bucket/k", query: "", headers: signed.headers)
        #expect(try Self.verifier.verify(r, now: Self.now + 900) != nil)
        #expect(try Self.verifier.verify(r, now: Self.now - 900) != nil)
        expectError(.requestTimeTooSkewed) { _ = try Self.verifier.verify(r, now: Self.now + 901) }
        expectError(.requestTimeTooSkewed) { _ = try Self.verifier.verify(r, now: Self.now - 901) }
    }

    @Test("expiry bounds: 1 to 604800 seconds")
    func expiryBounds() throws {
        #expect(throws: SigV4Error.self) { _ = try Self.presign("k", expires: 0) }
        #expect(throws: SigV4Error.self) { _ = try Self.presign("k", expires: 604_801) }
        let week = try Self.presign("k", method: "GET", expires: 604_800)
        #expect(try Self.verifier.verify(Self.received(week), now: Self.now + 604_800) != nil)
        // A URL edited to claim a longer life fails its signature; one claiming more than a week is malformed.
        let p = try Self.presign("k", method: "GET", expires: 60)
        var r = Self.received(p)
        r.query = r.query.replacingOccurrences(of: "X-Amz-Expires=60", with: "X-Amz-Expires=3600")
        expectError(.signatureDoesNotMatch) { _ = try Self.verifier.verify(r, now: Self.now) }
        for bad in ["604801", "-5", "abc", ""] {
            r = Self.received(p)
            r.query = r.query.replacingOccurrences(of: "X-Amz-Expires=60", with: "X-Amz-Expires=\(bad)")
            expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
        }
        // Zero seconds: expired on arrival (403 AccessDenied), not malformed.
        r = Self.received(p)
        r.query = r.query.replacingOccurrences(of: "X-Amz-Expires=60", with: "X-Amz-Expires=0")
        expectError(.accessDenied) { _ = try Self.verifier.verify(r, now: Self.now) }
    }

    @Test("malformed query auth parameters")
    func malformedQuery() throws {
        let p = try Self.presign("k", method: "GET")
        let good = Self.received(p)
        for name in ["X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Signature"] {
            var r = good
            r.query = r.query.split(separator: "&").filter { !$0.hasPrefix(name + "=") }.joined(separator: "&")
            expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
        }
        var r = good
        r.query = r.query.replacingOccurrences(of: "AWS4-HMAC-SHA256", with: "AWS4-HMAC-SHA1")
        expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.query = r.query.replacingOccurrences(of: "%2Fus-east-1%2F", with: "%2Feu-west-1%2F")
        expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.query = r.query.replacingOccurrences(of: "%2Fs3%2F", with: "%2Fsqs%2F")
        expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.query = r.query.replacingOccurrences(of: "aws4_request", with: "aws5_request")
        expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.query += "&X-Amz-Signature=\(p.signature)"
        expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.query = r.query.replacingOccurrences(of: "X-Amz-SignedHeaders=host", with: "X-Amz-SignedHeaders=content-type")
        expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.query += "&bad=%zz"
        expectError(.invalidURI) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.path = "/bucket/%G0"
        expectError(.invalidURI) { _ = try Self.verifier.verify(r, now: Self.now) }
        // Both mechanisms at once.
        r = good
        r.headers.append(("Authorization", "AWS4-HMAC-SHA256 Credential=x"))
        expectError(.invalidArgument) { _ = try Self.verifier.verify(r, now: Self.now) }
    }

    @Test("the credential's date must be the signing date")
    func scopeDate() throws {
        let p = try Self.presign("k", method: "GET")
        var r = Self.received(p)
        let day = AMZDate(Self.now).dateStamp
        let other = AMZDate(Self.now - 86400).dateStamp
        r.query = r.query.replacingOccurrences(of: "%2F\(day)%2F", with: "%2F\(other)%2F")
        expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(r, now: Self.now) }
    }

    @Test("malformed Authorization headers")
    func malformedHeader() throws {
        let signed = Self.signer.signHeaders(method: "GET", host: Self.host, path: "/bucket/k", payloadHash: PayloadHash.emptySHA256, date: Self.now)
        let good = ReceivedRequest(method: "GET", path: "/bucket/k", query: "", headers: signed.headers)
        func with(_ authorization: String) -> ReceivedRequest {
            var r = good
            r.headers = r.headers.map { $0.0 == "Authorization" ? ($0.0, authorization) : $0 }
            return r
        }
        let a = signed.authorization
        expectError(.authorizationHeaderMalformed) { _ = try Self.verifier.verify(with(a.replacingOccurrences(of: "Credential=", with: "Cred=")), now: Self.now) }
        expectError(.authorizationHeaderMalformed) { _ = try Self.verifier.verify(with(String(a.prefix(60))), now: Self.now) }
        expectError(.authorizationHeaderMalformed) { _ = try Self.verifier.verify(with("AWS4-HMAC-SHA512 " + a.dropFirst(17)), now: Self.now) }
        expectError(.authorizationHeaderMalformed) { _ = try Self.verifier.verify(with(a.replacingOccurrences(of: "/us-east-1/", with: "/eu-west-1/")), now: Self.now) }
        expectError(.authorizationHeaderMalformed) { _ = try Self.verifier.verify(with(a.replacingOccurrences(of: "/aws4_request", with: "")), now: Self.now) }
        expectError(.invalidArgument) { _ = try Self.verifier.verify(with("AWS AKID:c2lnbmF0dXJl"), now: Self.now) }
        expectError(.invalidAccessKeyId) { _ = try Self.verifier.verify(with(a.replacingOccurrences(of: "AKIDHOIST0000000TEST", with: "AKIDUNKNOWN")), now: Self.now) }
        // No spaces after the commas is fine.
        #expect(try Self.verifier.verify(with(a.replacingOccurrences(of: ", ", with: ",")), now: Self.now) != nil)
        // Missing x-amz-content-sha256 or date.
        var r = good
        r.headers = r.headers.filter { $0.0 != "x-amz-content-sha256" }
        expectError(.invalidRequest) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.headers = r.headers.filter { $0.0 != "X-Amz-Date" }
        expectError(.missingSecurityHeader) { _ = try Self.verifier.verify(r, now: Self.now) }
        r = good
        r.headers = r.headers.map { $0.0 == "x-amz-content-sha256" ? ($0.0, "not-a-hash") : $0 }
        expectError(.invalidArgument) { _ = try Self.verifier.verify(r, now: Self.now) }
        // Two Authorization headers.
        r = good
        r.headers.append(("authorization", a))
        expectError(.authorizationHeaderMalformed) { _ = try Self.verifier.verify(r, now: Self.now) }
    }

    @Test("unsigned x-amz-* headers are refused, as S3 does")
    func unsignedAmzHeaders() throws {
        let p = try Self.presign("k", headers: [("Content-Type", "image/png")])
        var r = Self.received(p)
        r.headers.append(("x-amz-meta-sneaky", "1"))
        let error = #expect(throws: SigV4Error.self) { _ = try Self.verifier.verify(r, now: Self.now) }
        #expect(error?.code == .accessDenied)
        #expect(error?.message.contains("not signed") == true)
        let signed = Self.signer.signHeaders(method: "PUT", host: Self.host, path: "/bucket/k", payloadHash: PayloadHash.unsigned, date: Self.now)
        var h = ReceivedRequest(method: "PUT", path: "/bucket/k", query: "", headers: signed.headers)
        h.headers.append(("X-Amz-Storage-Class", "GLACIER"))
        expectError(.accessDenied) { _ = try Self.verifier.verify(h, now: Self.now) }
        // Other unsigned headers are fine.
        r = Self.received(p)
        r.headers.append(("User-Agent", "test"))
        #expect(try Self.verifier.verify(r, now: Self.now) != nil)
    }

    @Test("anonymous requests are reported as such")
    func anonymous() throws {
        #expect(try Self.verifier.verify(ReceivedRequest(method: "GET", target: "/bucket/k?versionId=1", headers: []), now: Self.now) == nil)
    }

    @Test("unknown access keys and session tokens")
    func tokens() throws {
        let temporary = SigV4Credentials(accessKeyId: "ASIATEMP", secretAccessKey: "temp-secret", sessionToken: "token/with+chars==")
        let verifier = SigV4Verifier(credentials: StaticCredentialStore([temporary]))
        let signer = SigV4Signer(credentials: temporary, region: "us-east-1")
        let p = try signer.presign(method: "GET", scheme: "http", host: Self.host, path: "/bucket/k", expires: 60, date: Self.now)
        #expect(p.url.contains("X-Amz-Security-Token=token%2Fwith%2Bchars%3D%3D"))
        #expect(try verifier.verify(Self.received(p), now: Self.now)?.credentials.sessionToken == "token/with+chars==")
        var r = Self.received(p)
        r.query = r.query.replacingOccurrences(of: "X-Amz-Security-Token=token", with: "X-Amz-Security-Token=tokem")
        expectError(.invalidToken) { _ = try verifier.verify(r, now: Self.now) }
        r = Self.received(p)
        r.query = r.query.split(separator: "&").filter { !$0.hasPrefix("X-Amz-Security-Token") }.joined(separator: "&")
        expectError(.missingSecurityHeader) { _ = try verifier.verify(r, now: Self.now) }

        let signed = signer.signHeaders(method: "GET", host: Self.host, path: "/bucket/k", payloadHash: PayloadHash.emptySHA256, date: Self.now)
        #expect(signed.headers.contains { $0.0 == "X-Amz-Security-Token" })
        #expect(signed.signedHeaders.contains("x-amz-security-token"))
        #expect(try verifier.verify(ReceivedRequest(method: "GET", path: "/bucket/k", query: "", headers: signed.headers), now: Self.now) != nil)

        expectError(.invalidAccessKeyId) { _ = try Self.verifier.verify(Self.received(p), now: Self.now) }
    }

    @Test("a URL never outlives its credentials")
    func clampToCredentials() throws {
        let temporary = SigV4Credentials(accessKeyId: "ASIATEMP", secretAccessKey: "s", sessionToken: "t", expiration: Self.now + 120)
        let signer = SigV4Signer(credentials: temporary, region: "us-east-1")
        let p = try signer.presign(method: "GET", host: Self.host, path: "/b/k", expires: 900, date: Self.now)
        #expect(p.expiresIn == 120)
        #expect(p.url.contains("X-Amz-Expires=120&"))
        #expect(p.expiresAt == Self.now + 120)
        expectError(.invalidToken) { _ = try signer.presign(method: "GET", host: Self.host, path: "/b/k", expires: 900, date: Self.now + 120) }
    }

    @Test("reserved query names cannot be smuggled into a pre-signed URL")
    func reservedQueryNames() {
        expectError(.authorizationQueryParametersError) { _ = try Self.presign("k", query: [("X-Amz-Signature", "x")]) }
        expectError(.authorizationQueryParametersError) { _ = try Self.presign("k", query: [("x-amz-expires", "99")]) }
    }

    @Test("a region-agnostic verifier accepts any region")
    func anyRegion() throws {
        let signer = SigV4Signer(credentials: Self.credentials, region: "eu-central-1")
        let p = try signer.presign(method: "GET", scheme: "http", host: Self.host, path: "/bucket/k", expires: 60, date: Self.now)
        let anyRegion = SigV4Verifier(credentials: StaticCredentialStore([Self.credentials]), options: .init(region: nil))
        #expect(try anyRegion.verify(Self.received(p), now: Self.now) != nil)
        expectError(.authorizationQueryParametersError) { _ = try Self.verifier.verify(Self.received(p), now: Self.now) }
    }
}
