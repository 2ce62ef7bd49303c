import Auth
import Crypto
import Foundation
import Testing

@Suite("DevIssuer")
struct DevIssuerTests {
    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("hoist-auth-tests-\(UUID().uuidString)")
    }

    static func mode(of url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    static func json(_ data: Data) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func decodeSegment(_ segment: Substring) -> Data? {
        var text = segment.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }

    @Test("creates the key once, with mode 0600, and loads the same key again")
    func roundTrip() throws {
        let directory = Self.temporaryDirectory().appendingPathComponent("nested/data")
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent().deletingLastPathComponent()) }
        let first = try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080/")
        let file = directory.appendingPathComponent(DevIssuer.keyFileName)
        #expect(try Self.mode(of: file) == 0o600)
        #expect(first.issuer == "http://127.0.0.1:8080")
        #expect(first.jwksURL == "http://127.0.0.1:8080/.well-known/jwks.json")
        #expect(first.audience == "hoist-dev")

        let second = try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080")
        #expect(second.keyID == first.keyID)
        #expect(second.jwksDocument() == first.jwksDocument())
    }

    @Test("the kid is the RFC 7638 thumbprint, and the JWKS has the public key only")
    func jwks() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let issuer = try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080")
        let document = try Self.json(issuer.jwksDocument())
        let keys = try #require(document["keys"] as? [[String: String]])
        #expect(keys.count == 1)
        let key = keys[0]
        #expect(key["kty"] == "RSA")
        #expect(key["alg"] == "RS256")
        #expect(key["use"] == "sig")
        #expect(key["kid"] == issuer.keyID)
        #expect(key["d"] == nil && key["p"] == nil && key["q"] == nil)
        let n = try #require(key["n"]), e = try #require(key["e"])
        #expect(e == "AQAB")
        let thumbprint = Fixtures.base64url(Array(SHA256.hash(data: Data(#"{"e":"\#(e)","kty":"RSA","n":"\#(n)"}"#.utf8))))
        #expect(issuer.keyID == thumbprint)
        // 2048-bit modulus: 256 bytes → 342 base64url characters.
        #expect(n.count == 342)
    }

    @Test("the OpenID configuration parses and points at the JWKS")
    func openIDConfiguration() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let issuer = try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080")
        let document = try Self.json(issuer.openIDConfiguration())
        #expect(document["issuer"] as? String == "http://127.0.0.1:8080")
        #expect(document["jwks_uri"] as? String == "http://127.0.0.1:8080/.well-known/jwks.json")
        #expect(document["id_token_signing_alg_values_supported"] as? [String] == ["RS256"])
        #expect((document["response_types_supported"] as? [String])?.isEmpty == false)
        #expect((document["subject_types_supported"] as? [String])?.isEmpty == false)
    }

    @Test("its tokens verify through JWKSTokenVerifier and its served JWKS")
    func tokensVerify() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let server = JWKSTestServer(document: Data())
        try await server.run { baseURL in
            let dev = try DevIssuer.loadOrCreate(directory: directory, issuer: baseURL)
            server.serve(dev.jwksDocument())
            let verifier = JWKSTokenVerifier(configuration: dev.verifierConfiguration)
            let now = Date()
            let token = try await dev.token(for: "alice", ttl: .seconds(900), now: now)
            let user = try await verifier.verify(token)
            #expect(user.subject == "alice")
            #expect(user.issuer == baseURL)
            #expect(abs(user.expiresAt.timeIntervalSince(now) - 900) < 1.5)
            #expect(server.requests == 1)

            // Header and claims as documented.
            let parts = token.split(separator: ".")
            let header = try Self.json(try #require(Self.decodeSegment(parts[0])))
            #expect(header["alg"] as? String == "RS256")
            #expect(header["kid"] as? String == dev.keyID)
            let claims = try Self.json(try #require(Self.decodeSegment(parts[1])))
            #expect(claims["sub"] as? String == "alice")
            #expect(claims["aud"] as? String == "hoist-dev")
            #expect(claims["iss"] as? String == baseURL)
            let iat = try #require(claims["iat"] as? Int), exp = try #require(claims["exp"] as? Int)
            #expect(exp - iat == 900)
            #expect(claims["nbf"] as? Int == iat)

            // An expired dev token is refused like any other.
            let old = try await dev.token(for: "alice", ttl: .seconds(60), now: now.addingTimeInterval(-3600))
            let error = await #expect(throws: AuthError.self) { try await verifier.verify(old) }
            #expect(error?.code == .expired)

            // A dev token from another data folder (another key) is refused.
            let otherDirectory = Self.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: otherDirectory) }
            let other = try DevIssuer.loadOrCreate(directory: otherDirectory, issuer: baseURL)
            let forged = try await other.token(for: "alice")
            let forgedError = await #expect(throws: AuthError.self) { try await verifier.verify(forged) }
            #expect(forgedError?.code == .unknownKey)
        }
    }

    @Test("a key file readable by others is narrowed to 0600")
    func narrowsMode() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080")
        let file = directory.appendingPathComponent(DevIssuer.keyFileName)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        let second = try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080")
        #expect(second.keyID == first.keyID)
        #expect(try Self.mode(of: file) == 0o600)
    }

    @Test("a key file without a key is an error and is left alone")
    func invalidKeyFile() throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(DevIssuer.keyFileName)
        try Data("not a key".utf8).write(to: file)
        let error = #expect(throws: DevIssuerError.self) {
            try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080")
        }
        #expect(error?.code == .invalidKeyFile)
        #expect(try Data(contentsOf: file) == Data("not a key".utf8))
    }

    @Test("two starts at once agree on one key")
    func concurrentCreation() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let kids = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<4 {
                group.addTask { try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080").keyID }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(kids.count == 1)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(leftovers == [DevIssuer.keyFileName])
    }

    @Test("refuses an empty user and a non-positive lifetime")
    func invalidArguments() async throws {
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let dev = try DevIssuer.loadOrCreate(directory: directory, issuer: "http://127.0.0.1:8080")
        await #expect(throws: DevIssuerError.self) { try await dev.token(for: "") }
        await #expect(throws: DevIssuerError.self) { try await dev.token(for: "alice", ttl: .zero) }
    }
}
