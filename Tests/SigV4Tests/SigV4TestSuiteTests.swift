import Foundation
import SigV4
import Testing

/// AWS's generic SigV4 test suite (`Resources/vectors/sigv4`, 38 cases, each
/// signed with an `Authorization` header and pre-signed): we must produce the
/// same canonical request, string to sign and signature, and our verifier must
/// accept the signed request.
///
/// `*-normalized` cases expect RFC 3986 path normalisation, which S3 never
/// does: they run with `normalizePath: true` (generic-service behaviour); the
/// `*-unnormalized` twins run as S3 does. Service `service`, not `s3`.
@Suite("AWS SigV4 test suite")
struct SigV4TestSuiteTests {
    struct Case {
        let name: String
        let folder: URL
        let context: [String: Any]
        let request: RawRequest

        init(_ name: String) throws {
            self.name = name
            folder = Vectors.sigv4.appendingPathComponent(name)
            context = try Vectors.json(folder.appendingPathComponent("context.json"))
            request = try RawRequest(try Vectors.text(folder.appendingPathComponent("request.txt")))
        }

        func file(_ name: String) throws -> String { try Vectors.text(folder.appendingPathComponent(name)) }

        var credentials: SigV4Credentials {
            let c = context["credentials"] as? [String: String] ?? [:]
            return SigV4Credentials(accessKeyId: c["access_key_id"] ?? "", secretAccessKey: c["secret_access_key"] ?? "",
                                    sessionToken: c["token"])
        }
        var normalize: Bool { context["normalize"] as? Bool ?? false }
        var signBody: Bool { context["sign_body"] as? Bool ?? false }
        var omitToken: Bool { context["omit_session_token"] as? Bool ?? false }
        var region: String { context["region"] as? String ?? "" }
        var service: String { context["service"] as? String ?? "" }
        var expires: Int { context["expiration_in_seconds"] as? Int ?? 0 }
        var date: Date { AMZDate(iso8601: context["timestamp"] as? String ?? "")?.date ?? .distantPast }
        var host: String { request.headers.first { $0.0.lowercased() == "host" }?.1 ?? "" }
        var bodyHash: String { PayloadHash.sha256(of: request.body) }
        var signer: SigV4Signer {
            SigV4Signer(credentials: credentials, region: region, service: service, normalizePath: normalize)
        }
        /// The signer for the case: when the token is added after signing, it signs without it.
        var signingSigner: SigV4Signer {
            guard omitToken else { return signer }
            return SigV4Signer(credentials: SigV4Credentials(accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey),
                               region: region, service: service, normalizePath: normalize)
        }
        var verifier: SigV4Verifier {
            SigV4Verifier(credentials: StaticCredentialStore([credentials]),
                          options: .init(region: region, service: service, normalizePath: normalize,
                                         payloadHashWhenHeaderAbsent: bodyHash, queryPayloadHash: bodyHash,
                                         rejectUnsignedAmzHeaders: !omitToken))
        }
        var decodedPath: String { S3URIEncoding.decode(request.path) ?? request.path }
    }

    @Test("the suite is present and complete")
    func suitePresent() {
        #expect(Vectors.sigv4Cases.count == 38, "expected 38 cases in \(Vectors.sigv4.path), found \(Vectors.sigv4Cases.count)")
    }

    @Test("header signing matches", arguments: Vectors.sigv4Cases)
    func headerSigning(_ name: String) throws {
        let c = try Case(name)
        let signed = c.signingSigner.signHeaders(method: c.request.method, host: c.host, path: c.decodedPath,
                                        query: c.request.decodedQuery,
                                        headers: c.request.headers.filter { $0.0.lowercased() != "host" },
                                        payloadHash: c.bodyHash, date: c.date, addContentSHA256Header: c.signBody)
        #expect(signed.canonicalRequest == (try c.file("header-canonical-request.txt")))
        #expect(signed.stringToSign == (try c.file("header-string-to-sign.txt")))
        #expect(signed.signature == (try c.file("header-signature.txt")))
    }

    @Test("header-signed request verifies", arguments: Vectors.sigv4Cases)
    func headerVerifying(_ name: String) throws {
        let c = try Case(name)
        let signed = try RawRequest(try c.file("header-signed-request.txt"))
        let auth = try c.verifier.verify(signed.received, now: c.date)
        #expect(auth?.kind == .header)
        #expect(auth?.signature == (try c.file("header-signature.txt")))
    }

    @Test("pre-signing matches", arguments: Vectors.sigv4Cases)
    func querySigning(_ name: String) throws {
        let c = try Case(name)
        let presigned = try c.signingSigner.presign(method: c.request.method, host: c.host, path: c.decodedPath,
                                           query: c.request.decodedQuery,
                                           headers: c.request.headers.filter { $0.0.lowercased() != "host" },
                                           expires: c.expires, date: c.date, payloadHash: c.bodyHash)
        #expect(presigned.canonicalRequest == (try c.file("query-canonical-request.txt")))
        #expect(presigned.stringToSign == (try c.file("query-string-to-sign.txt")))
        #expect(presigned.signature == (try c.file("query-signature.txt")))
    }

    @Test("pre-signed request verifies", arguments: Vectors.sigv4Cases)
    func queryVerifying(_ name: String) throws {
        let c = try Case(name)
        let signed = try RawRequest(try c.file("query-signed-request.txt"))
        if c.omitToken {
            // Non-S3 behaviour: the token was appended to the URL after signing.
            // S3 signs every query parameter but X-Amz-Signature, so it must refuse this URL.
            expectError(.signatureDoesNotMatch) { _ = try c.verifier.verify(signed.received, now: c.date) }
            return
        }
        let auth = try c.verifier.verify(signed.received, now: c.date)
        #expect(auth?.kind == .query)
        #expect(auth?.signature == (try c.file("query-signature.txt")))
    }

    @Test("a tampered signed request is refused", arguments: Vectors.sigv4Cases)
    func tamperedHeaderRequest(_ name: String) throws {
        let c = try Case(name)
        var signed = try RawRequest(try c.file("header-signed-request.txt"))
        signed.method = signed.method == "GET" ? "PUT" : "GET"
        expectError(.signatureDoesNotMatch) { _ = try c.verifier.verify(signed.received, now: c.date) }
    }
}
