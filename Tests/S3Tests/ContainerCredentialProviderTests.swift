import Foundation
import S3
import SigV4
import Testing

@Suite("Container credentials")
struct ContainerCredentialProviderTests {
    /// The fetch timeout of providers whose timeout is not under test: generous, since a loaded
    /// machine (a build beside the tests) can keep the in-process test server from answering for seconds.
    static let patience: Duration = .seconds(60)

    static func endpoint(_ url: String, token: String? = "container-token") throws -> ContainerCredentialsEndpoint {
        var environment = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url]
        if let token { environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token }
        guard let endpoint = try ContainerCredentialsEndpoint(environment: environment) else {
            throw TestServerError.noEndpoint
        }
        return endpoint
    }

    static func message(of body: () async throws -> Void) async -> String {
        do {
            try await body()
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test("the chain falls back to the container endpoint: credentials used, Authorization sent")
    func chainUsesContainer() async throws {
        let server = CredentialsTestServer()
        let expiration = Date().addingTimeInterval(3600).rounded()
        server.serve(accessKeyId: "ASIACONTAINER0001", secret: "container-secret-1", token: "session-token-1", expiration: expiration)
        try await server.run { url in
            let chain = CredentialChain(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                                                      "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Basic c2VjcmV0LXRva2Vu"],
                                        homeDirectory: "/nonexistent-home")
            let provider = try chain.provider(fetchTimeout: Self.patience)
            #expect(provider is ContainerCredentialProvider)
            let credentials = try await provider.credentials()
            #expect(credentials == SigV4Credentials(accessKeyId: "ASIACONTAINER0001", secretAccessKey: "container-secret-1",
                                                    sessionToken: "session-token-1", expiration: expiration))
            #expect(server.authorizations == ["Basic c2VjcmV0LXRva2Vu"])

            // The credentials sign: the session token travels in the URL, the key id in the scope.
            let signer = try await RotatingSigner(provider: provider, region: "eu-west-1").signer()
            let url = try signer.presign(method: "PUT", host: "b.s3.eu-west-1.amazonaws.com", path: "/articles/a/raw/x.png",
                                         expires: 900, date: Date()).url
            #expect(url.contains("X-Amz-Credential=ASIACONTAINER0001%2F"))
            #expect(url.contains("X-Amz-Security-Token=session-token-1"))
            // Cached: no second request.
            _ = try await provider.credentials()
            #expect(server.requests == 1)
        }
    }

    @Test("the token file is read at every fetch; the token variable wins over it")
    func tokenFile() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-token-\(UUID().uuidString)")
        try "file-token-1\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let server = CredentialsTestServer()
        let clock = TestClock()
        server.serve(accessKeyId: "ASIAFILE", secret: "s", token: "t", expiration: clock.now.addingTimeInterval(3600))
        try await server.run { url in
            guard let endpoint = try ContainerCredentialsEndpoint(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                                                                                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": file.path]) else {
                Issue.record("no endpoint")
                return
            }
            let provider = ContainerCredentialProvider(endpoint: endpoint, timeout: Self.patience, clock: clock.date)
            _ = try await provider.credentials()
            try "file-token-2".write(to: file, atomically: true, encoding: .utf8)
            clock.advance(seconds: 3400)
            _ = try await provider.credentials()
            #expect(server.authorizations == ["file-token-1", "file-token-2"])

            let both = try ContainerCredentialsEndpoint(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                                                                      "AWS_CONTAINER_AUTHORIZATION_TOKEN": "env-token",
                                                                      "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": file.path])
            #expect(both?.authorization == .token("env-token"))

            let missing = try ContainerCredentialsEndpoint(url: url, authorization: .file("/nonexistent/token"))
            let error = await Self.message { _ = try await ContainerCredentialProvider(endpoint: missing).credentials() }
            #expect(error.contains("could not read container credentials from \(url): the authorization token file /nonexistent/token cannot be read"))
        }
    }

    @Test("refreshed before expiry; the signer and its key follow; a request in flight keeps its credentials")
    func refresh() async throws {
        let server = CredentialsTestServer()
        let clock = TestClock()
        server.serve(accessKeyId: "ASIAFIRST", secret: "secret-first", token: "token-first", expiration: clock.now.addingTimeInterval(600))
        try await server.run { url in
            let provider = ContainerCredentialProvider(endpoint: try Self.endpoint(url), timeout: Self.patience, refreshBefore: 300, clock: clock.date)
            let signers = RotatingSigner(provider: provider, region: "us-east-1")
            let first = try await signers.signer()
            #expect(first.credentials.accessKeyId == "ASIAFIRST")
            clock.advance(seconds: 200)   // 400 s left: still cached
            #expect(try await signers.signer().credentials.accessKeyId == "ASIAFIRST")
            #expect(server.requests == 1)

            server.serve(accessKeyId: "ASIASECOND", secret: "secret-second", token: "token-second",
                         expiration: clock.now.addingTimeInterval(3600))
            clock.advance(seconds: 101)   // 299 s left: fetched again
            let second = try await signers.signer()
            #expect(second.credentials.accessKeyId == "ASIASECOND")
            #expect(second.credentials.sessionToken == "token-second")
            #expect(server.requests == 2)
            #expect(try await signers.signer().credentials.accessKeyId == "ASIASECOND")
            #expect(server.requests == 2)

            // The key is derived from the new secret: same request, other signature.
            let date = clock.now
            let a = try first.presign(method: "GET", host: "h", path: "/b/k", expires: 60, date: date)
            let b = try second.presign(method: "GET", host: "h", path: "/b/k", expires: 60, date: date)
            #expect(a.signature != b.signature)
            let direct = try SigV4Signer(credentials: second.credentials, region: "us-east-1")
                .presign(method: "GET", host: "h", path: "/b/k", expires: 60, date: date)
            #expect(direct.signature == b.signature)
            // A request that took the first signer still signs with the first credentials.
            #expect(first.credentials.accessKeyId == "ASIAFIRST")
            #expect(a.url.contains("ASIAFIRST"))
        }
    }

    @Test("short-lived credentials: fetched at most once per interval, URLs cut to what they have left")
    func shortLived() async throws {
        let server = CredentialsTestServer()
        let clock = TestClock()
        server.serve(accessKeyId: "ASIASHORT", secret: "s", token: "t", expiration: clock.now.addingTimeInterval(120))
        try await server.run { url in
            let provider = ContainerCredentialProvider(endpoint: try Self.endpoint(url), timeout: Self.patience, refreshBefore: 960,
                                                       minimumRefreshInterval: 30, clock: clock.date)
            let credentials = try await provider.credentials()
            _ = try await provider.credentials()
            #expect(server.requests == 1)
            clock.advance(seconds: 31)
            _ = try await provider.credentials()
            #expect(server.requests == 2)
            let presigned = try SigV4Signer(credentials: credentials, region: "us-east-1")
                .presign(method: "PUT", host: "h", path: "/b/k", expires: 900, date: clock.now)
            #expect(presigned.expiresIn == 89)
        }
    }

    @Test("many callers, one fetch")
    func oneFetchForManyWaiters() async throws {
        let server = CredentialsTestServer()
        server.serve(accessKeyId: "ASIAMANY", secret: "s", token: "t", expiration: Date().addingTimeInterval(3600))
        server.delay(.milliseconds(200))
        try await server.run { url in
            let provider = ContainerCredentialProvider(endpoint: try Self.endpoint(url), timeout: Self.patience)
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 { group.addTask { try await provider.credentials().accessKeyId } }
                var ids: [String] = []
                for try await id in group { ids.append(id) }
                return ids
            }
            #expect(ids == Array(repeating: "ASIAMANY", count: 20))
            #expect(server.requests == 1)
        }
    }

    @Test("a failed refresh keeps working credentials; once they expire, a clear error")
    func failures() async throws {
        let server = CredentialsTestServer()
        let clock = TestClock()
        server.serve(accessKeyId: "ASIAKEEP", secret: "s", token: "t", expiration: clock.now.addingTimeInterval(400))
        try await server.run { url in
            let provider = ContainerCredentialProvider(endpoint: try Self.endpoint(url), timeout: Self.patience, refreshBefore: 300, clock: clock.date)
            _ = try await provider.credentials()
            server.serve(#"{"code":"InternalError","message":"the agent is restarting"}"#, status: 500)
            clock.advance(seconds: 200)
            #expect(try await provider.credentials().accessKeyId == "ASIAKEEP")
            #expect(server.requests == 2)
            clock.advance(seconds: 250)   // expired
            let error = await Self.message { _ = try await provider.credentials() }
            #expect(error == "could not read container credentials from \(url): HTTP 500: the agent is restarting")
        }
    }

    @Test("a 500, bad JSON, missing fields, a bad Expiration, a timeout: clear errors, no secrets")
    func badAnswers() async throws {
        let server = CredentialsTestServer()
        try await server.run { url in
            let prefix = "could not read container credentials from \(url): "
            func error(_ body: String, status: Int = 200) async throws -> String {
                server.serve(body, status: status)
                let provider = ContainerCredentialProvider(endpoint: try Self.endpoint(url), timeout: Self.patience)
                return await Self.message { _ = try await provider.credentials() }
            }
            #expect(try await error("oops", status: 500) == prefix + "HTTP 500: oops")
            #expect(try await error("", status: 404) == prefix + "HTTP 404")
            #expect(try await error("not json, SecretAccessKey=leaked-secret") == prefix + "the answer is not the JSON expected (39 bytes)")
            #expect(try await error(#"{"AccessKeyId":"ASIA"}"#) == prefix + "the answer lacks AccessKeyId or SecretAccessKey")
            let badDate = try await error(#"{"AccessKeyId":"ASIA","SecretAccessKey":"leaked-secret","Token":"t","Expiration":"tomorrow"}"#)
            #expect(badDate == prefix + "Expiration 'tomorrow' is not an ISO 8601 time")
            #expect(!badDate.contains("leaked-secret"))
            // Fractional seconds are ISO 8601 too.
            server.serve(#"{"AccessKeyId":"ASIA","SecretAccessKey":"s","Token":"t","Expiration":"2030-01-02T03:04:05.250Z"}"#)
            let fractional = try await ContainerCredentialProvider(endpoint: try Self.endpoint(url), timeout: Self.patience).credentials()
            #expect(fractional.expiration == Date(timeIntervalSince1970: 1_893_553_445.25))

            server.serve(accessKeyId: "ASIASLOW", secret: "s", token: "t", expiration: Date().addingTimeInterval(3600))
            // The answer would come after 8 s; the 0.3 s limit ends the wait long before (the margin is
            // for a loaded machine running the whole suite at once).
            server.delay(.seconds(8))
            let started = ContinuousClock.now
            let slow = ContainerCredentialProvider(endpoint: try Self.endpoint(url), timeout: .milliseconds(300))
            let timedOut = await Self.message { _ = try await slow.credentials() }
            #expect(timedOut == prefix + "no answer within 0.3 s")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
        // Nothing listening.
        let closed = await Self.message {
            _ = try await ContainerCredentialProvider(endpoint: try Self.endpoint("http://127.0.0.1:1/creds")).credentials()
        }
        #expect(closed.hasPrefix("could not read container credentials from http://127.0.0.1:1/creds: "))
    }

    @Test("only https, or http to loopback and the agents' addresses")
    func urls() throws {
        func refused(_ url: String) -> Bool {
            do {
                _ = try ContainerCredentialsEndpoint(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url])
                return false
            } catch {
                return "\(error)".hasPrefix("AWS_CONTAINER_CREDENTIALS_FULL_URI is refused (\(url)): ")
            }
        }
        for url in ["http://169.254.169.254/latest/meta-data", "http://example.com/creds", "http://10.0.0.1/creds",
                    "http://127.0.0.1@example.com/creds", "http://127.0.0.1.example.com/creds", "ftp://127.0.0.1/creds",
                    "127.0.0.1/creds", "http:///creds", "http://[::2]/creds", "http://127.0.0.1:99999/creds",
                    "http://localhost.example.com/", "http://1270.0.0.1/"] {
            #expect(refused(url), "\(url)")
        }
        for url in ["https://creds.example.com/v1", "http://127.0.0.1:8080/creds", "http://127.1.2.3/creds", "http://localhost/creds",
                    "http://[::1]:8080/creds", "http://169.254.170.2/v2/credentials", "http://169.254.170.23/v1/credentials",
                    "http://[fd00:ec2::23]/v1/credentials"] {
            #expect(!refused(url), "\(url)")
        }
        do {
            _ = try ContainerCredentialsEndpoint(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/c"])
            Issue.record("http://example.com/c was accepted")
        } catch {
            #expect("\(error)".contains("use https for 'example.com'"))
        }

        // The relative URI is ECS's, and wins over the full one.
        let ecs = try ContainerCredentialsEndpoint(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc",
                                                                 "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/"])
        #expect(ecs?.url == "http://169.254.170.2/v2/credentials/abc")
        #expect(ecs?.authorization == nil)
        #expect(try ContainerCredentialsEndpoint(environment: ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": ""]) == nil)
        #expect(try ContainerCredentialsEndpoint(environment: [:]) == nil)
        #expect(throws: CredentialError.self) {
            try ContainerCredentialsEndpoint(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1/c",
                                                          "AWS_CONTAINER_AUTHORIZATION_TOKEN": "a\r\nX-Injected: 1"])
        }
        // The token never shows in descriptions.
        let described = "\(try Self.endpoint("http://127.0.0.1/c", token: "very-secret-token"))"
        #expect(!described.contains("very-secret-token"))
    }

    @Test("the chain's order: explicit profile, environment keys, shared file, container; refusals surface")
    func chainOrder() throws {
        let home = try CredentialChainTests.home(with: CredentialChainTests.file)
        let container = ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"]
        let keys = ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s"]
        #expect(try CredentialChain(environment: keys.merging(container) { a, _ in a }, homeDirectory: "/nonexistent-home")
            .provider() is StaticCredentialProvider)
        #expect(try (CredentialChain(environment: container, homeDirectory: home).provider() as? StaticCredentialProvider)?
            .value.accessKeyId == "AKIDDEFAULT")
        #expect(try (CredentialChain(environment: container, homeDirectory: home).provider(profile: "work") as? StaticCredentialProvider)?
            .value.accessKeyId == "AKIDWORK")
        let onlyContainer = CredentialChain(environment: container, homeDirectory: "/nonexistent-home")
        #expect(try (onlyContainer.provider() as? ContainerCredentialProvider)?.endpoint.url == "http://169.254.170.2/v2/credentials/abc")
        #expect(throws: CredentialError.self) { try onlyContainer.resolve() }
        #expect(throws: CredentialError.self) {
            try CredentialChain(environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/c"],
                                homeDirectory: "/nonexistent-home").provider()
        }
        do {
            _ = try CredentialChain(environment: [:], homeDirectory: "/nonexistent-home").provider()
            Issue.record("no error")
        } catch {
            #expect("\(error)".contains("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
        }
    }
}

extension Date {
    /// Whole seconds, as ISO 8601 without fractions carries it.
    func rounded() -> Date { Date(timeIntervalSince1970: timeIntervalSince1970.rounded(.down)) }
}
