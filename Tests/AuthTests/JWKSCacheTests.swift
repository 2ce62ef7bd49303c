@testable import Auth
import Foundation
import JWTKit
import Logging
import Testing

/// Fetching, caching and refreshing the key set, against a real HTTP server that counts requests.
@Suite("JWKS cache and refresh")
struct JWKSCacheTests {
    static func verifier(
        _ baseURL: String,
        clock: TestClock,
        fetchTimeout: Duration = .seconds(30),  // generous: a loaded machine can keep the test server from answering for seconds
        maximumKeyAge: Duration = .seconds(3600)
    ) -> JWKSTokenVerifier {
        JWKSTokenVerifier(
            configuration: JWTVerifierConfiguration(
                issuer: Fixtures.issuer,
                jwksURL: baseURL + "/.well-known/jwks.json",
                audiences: [Fixtures.audience],
                fetchTimeout: fetchTimeout,
                maximumKeyAge: maximumKeyAge
            ),
            clock: clock.date,
            logger: quietLogger
        )
    }

    /// Fetch failures are expected here; keep them out of the test output.
    static let quietLogger: Logger = {
        var logger = Logger(label: "hoist.auth.tests")
        logger.logLevel = .critical
        return logger
    }()

    /// A token valid for an hour from the clock's start, so the clock can move.
    static func token(_ key: SigningKey, kid: String?, clock: TestClock) async throws -> String {
        var claims = TestClaims(now: clock.now)
        claims.exp = clock.now.timeIntervalSince1970 + 3600
        return try await signToken(claims, with: key, kid: kid)
    }

    static func code(_ body: () async throws(AuthError) -> AuthenticatedUser) async -> AuthError.Code? {
        do {
            _ = try await body()
            return nil
        } catch {
            return error.code
        }
    }

    static let rsa1Only = Fixtures.jwks([Fixtures.jwk(rsa: Fixtures.rsa1, kid: "rsa-1")])
    static let rotated = Fixtures.jwks([Fixtures.jwk(rsa: Fixtures.rsa1, kid: "rsa-1"), Fixtures.jwk(rsa: Fixtures.rsa2, kid: "rsa-2")])

    @Test("keys are fetched once and then served from the cache")
    func cached() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            let token = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            for _ in 0..<20 {
                _ = try await verifier.verify(token)
                clock.advance(seconds: 10)
            }
            #expect(server.requests == 1)
        }
    }

    @Test("an unknown kid refreshes once, then is refused")
    func unknownKid() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            let good = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            let unknown = try await Self.token(.rsa(Fixtures.attackerRSA), kid: "rsa-9", clock: clock)
            _ = try await verifier.verify(good)
            #expect(server.requests == 1)

            clock.advance(seconds: 31)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(unknown) } == .unknownKey)
            #expect(server.requests == 2)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(unknown) } == .unknownKey)
            #expect(server.requests == 2)
        }
    }

    @Test("key rotation: a new kid is accepted after a refresh")
    func rotation() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            _ = try await verifier.verify(try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock))
            server.serve(Self.rotated)
            let newToken = try await Self.token(.rsa(Fixtures.rsa2), kid: "rsa-2", clock: clock)

            // Within the refresh interval of the first fetch, the new kid is not fetched yet.
            clock.advance(seconds: 5)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(newToken) } == .unknownKey)
            #expect(server.requests == 1)

            clock.advance(seconds: 30)
            let user = try await verifier.verify(newToken)
            #expect(user.subject == "alice")
            #expect(server.requests == 2)
            // The old key still works, from the same fetch.
            _ = try await verifier.verify(try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock))
            #expect(server.requests == 2)
        }
    }

    @Test("a verified token is cached, but a kid published again with other key material refuses it")
    func cachedTokenNeedsSameKey() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            let token = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            #expect(try await verifier.verify(token).subject == "alice")
            #expect(try await verifier.verify(token).subject == "alice")
            #expect(verifier.cachedTokenCount == 1)
            // The issuer now publishes another key under the same kid.
            server.serve(Fixtures.jwks([Fixtures.jwk(rsa: Fixtures.rsa2, kid: "rsa-1")]))
            try await verifier.refreshKeys()
            #expect(server.requests == 2)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(token) } == .invalidSignature)
            let renewed = try await Self.token(.rsa(Fixtures.rsa2), kid: "rsa-1", clock: clock)
            #expect(try await verifier.verify(renewed).subject == "alice")
        }
    }

    @Test("a cached token is refused once its key is withdrawn, and never outlives its exp")
    func cachedTokenEnds() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rotated)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            let token = try await Self.token(.rsa(Fixtures.rsa2), kid: "rsa-2", clock: clock)
            #expect(try await verifier.verify(token).subject == "alice")
            #expect(verifier.cachedTokenCount == 1)
            // Any changed byte misses the cache and fails the signature check.
            var tampered = Array(token.utf8)
            tampered[tampered.count - 3] = tampered[tampered.count - 3] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            #expect(await Self.code { () async throws(AuthError) in
                try await verifier.verify(String(decoding: tampered, as: UTF8.self))
            } == .invalidSignature)
            // The issuer withdraws rsa-2: the cached token goes with it.
            server.serve(Self.rsa1Only)
            try await verifier.refreshKeys()
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(token) } == .unknownKey)
            // A token cached under a published key answers until its exp, not a second more.
            let strict = JWKSTokenVerifier(
                configuration: JWTVerifierConfiguration(issuer: Fixtures.issuer, jwksURL: baseURL + "/.well-known/jwks.json",
                                                        audiences: [Fixtures.audience], leeway: .zero),
                clock: clock.date, logger: Self.quietLogger)
            let other = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            #expect(try await strict.verify(other).subject == "alice")
            clock.advance(seconds: 3599)
            #expect(try await strict.verify(other).subject == "alice")
            #expect(strict.cachedTokenCount == 1)
            clock.advance(seconds: 2)
            #expect(await Self.code { () async throws(AuthError) in try await strict.verify(other) } == .expired)
            #expect(strict.cachedTokenCount == 0)
        }
    }

    @Test("the verified-token cache is bounded, and can be turned off")
    func cacheBounded() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let small = JWKSTokenVerifier(
                configuration: JWTVerifierConfiguration(issuer: Fixtures.issuer, jwksURL: baseURL + "/.well-known/jwks.json",
                                                        audiences: [Fixtures.audience]),
                clock: clock.date, verifiedTokenCapacity: 3, logger: Self.quietLogger)
            let off = JWKSTokenVerifier(
                configuration: JWTVerifierConfiguration(issuer: Fixtures.issuer, jwksURL: baseURL + "/.well-known/jwks.json",
                                                        audiences: [Fixtures.audience]),
                clock: clock.date, verifiedTokenCapacity: 0, logger: Self.quietLogger)
            for i in 0..<7 {
                var claims = TestClaims(now: clock.now)
                claims.exp = clock.now.timeIntervalSince1970 + 3600 + Double(i)
                let token = try await signToken(claims, with: .rsa(Fixtures.rsa1), kid: "rsa-1")
                #expect(try await small.verify(token).subject == "alice")
                #expect(try await off.verify(token).subject == "alice")
                #expect(small.cachedTokenCount <= 3)
            }
            #expect(off.cachedTokenCount == 0)
        }
    }

    @Test("two unknown kids within the refresh interval cause one fetch")
    func rateLimit() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            _ = try await verifier.verify(try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock))
            let x = try await Self.token(.rsa(Fixtures.attackerRSA), kid: "x", clock: clock)
            let y = try await Self.token(.rsa(Fixtures.attackerRSA), kid: "y", clock: clock)

            clock.advance(seconds: 31)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(x) } == .unknownKey)
            #expect(server.requests == 2)
            clock.advance(seconds: 10)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(y) } == .unknownKey)
            #expect(server.requests == 2)
            clock.advance(seconds: 21)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(y) } == .unknownKey)
            #expect(server.requests == 3)
        }
    }

    @Test("many concurrent requests with a new kid share one fetch")
    func concurrentNewKid() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            _ = try await verifier.verify(try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock))
            server.serve(Self.rotated)
            server.delay(.milliseconds(300))
            clock.advance(seconds: 31)
            let newToken = try await Self.token(.rsa(Fixtures.rsa2), kid: "rsa-2", clock: clock)

            #expect(await Self.acceptedCount(of: newToken, by: verifier, concurrently: 64) == 64)
            #expect(server.requests == 2)
        }
    }

    /// Verifies `token` from `count` tasks at once; how many were accepted.
    static func acceptedCount(of token: String, by verifier: JWKSTokenVerifier, concurrently count: Int) async -> Int {
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<count {
                group.addTask { (try? await verifier.verify(token)) != nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    @Test("a cold cache under concurrent load fetches once")
    func concurrentColdStart() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        server.delay(.milliseconds(200))
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            let token = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            #expect(await Self.acceptedCount(of: token, by: verifier, concurrently: 32) == 32)
            #expect(server.requests == 1)
        }
    }

    @Test("JWKS server down: nothing listening")
    func connectionRefused() async throws {
        let clock = TestClock()
        // Start a server only to learn a free port, then stop it.
        let deadURL = try await JWKSTestServer(document: Data()).run { $0 }
        // AsyncHTTPClient retries a refused connection until the deadline: keep it short.
        let verifier = Self.verifier(deadURL, clock: clock, fetchTimeout: .milliseconds(500))
        let token = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
        #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(token) } == .jwksUnavailable)
        // Rate-limited: still unavailable, no new attempt needed to say so.
        #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(token) } == .jwksUnavailable)
        let error = await #expect(throws: AuthError.self) { try await verifier.refreshKeys() }
        #expect(error?.code == .jwksUnavailable)
    }

    @Test("JWKS server down: error status, not JSON, not a key set", arguments: [
        (500, Data("{\"keys\":[]}".utf8)),
        (404, Data()),
        (200, Data("<html>maintenance</html>".utf8)),
        (200, Data("{\"keys\":{}}".utf8)),
    ])
    func badResponses(status: Int, body: Data) async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: body)
        server.fail(status: status)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            let token = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(token) } == .jwksUnavailable)
            #expect(server.requests == 1)
            // Recovers once the issuer does, after the refresh interval.
            server.fail(status: 200)
            server.serve(Self.rsa1Only)
            clock.advance(seconds: 31)
            _ = try await verifier.verify(token)
            #expect(server.requests == 2)
        }
    }

    @Test("JWKS fetch times out")
    func timeout() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        server.delay(.seconds(20))
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock, fetchTimeout: .milliseconds(300))
            let token = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            let started = ContinuousClock.now
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(token) } == .jwksUnavailable)
            // Refused well before the server would have answered (a wide margin: a loaded machine is slow, not 20× slow).
            #expect(ContinuousClock.now - started < .seconds(15))
            server.delay(.zero)
        }
    }

    @Test("a failed refresh keeps serving the cached keys")
    func keepsCachedKeys() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            let good = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            _ = try await verifier.verify(good)
            server.fail(status: 503)
            clock.advance(seconds: 31)
            let unknown = try await Self.token(.rsa(Fixtures.rsa2), kid: "rsa-2", clock: clock)
            #expect(await Self.code { () async throws(AuthError) in try await verifier.verify(unknown) } == .jwksUnavailable)
            #expect(server.requests == 2)
            _ = try await verifier.verify(good)
            #expect(server.requests == 2)
        }
    }

    @Test("keys older than the maximum age are refreshed in the background; withdrawn keys stop working")
    func staleKeys() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rotated)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock, maximumKeyAge: .seconds(600))
            let old = try await Self.token(.rsa(Fixtures.rsa1), kid: "rsa-1", clock: clock)
            _ = try await verifier.verify(old)
            // The issuer withdraws rsa-1.
            server.serve(Fixtures.jwks([Fixtures.jwk(rsa: Fixtures.rsa2, kid: "rsa-2")]))
            clock.advance(seconds: 601)
            // Served from the stale cache at once, while a background refresh starts.
            _ = try await verifier.verify(old)
            var refused = false
            for _ in 0..<100 where !refused {
                try await Task.sleep(for: .milliseconds(20))
                refused = await Self.code { () async throws(AuthError) in try await verifier.verify(old) } == .unknownKey
            }
            #expect(refused)
            #expect(server.requests == 2)
        }
    }

    @Test("refreshKeys fetches at once, ignoring the rate limit")
    func refreshKeys() async throws {
        let clock = TestClock()
        let server = JWKSTestServer(document: Self.rsa1Only)
        try await server.run { baseURL in
            let verifier = Self.verifier(baseURL, clock: clock)
            try await verifier.refreshKeys()
            #expect(server.requests == 1)
            server.serve(Self.rotated)
            try await verifier.refreshKeys()
            #expect(server.requests == 2)
            _ = try await verifier.verify(try await Self.token(.rsa(Fixtures.rsa2), kid: "rsa-2", clock: clock))
            #expect(server.requests == 2)
        }
    }
}
