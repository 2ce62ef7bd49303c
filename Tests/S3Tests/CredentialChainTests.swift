import Foundation
import S3
import SigV4
import Testing

@Suite("Credential chain")
struct CredentialChainTests {
    static func home(with credentials: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-cred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        try credentials.write(to: dir.appendingPathComponent(".aws/credentials"), atomically: true, encoding: .utf8)
        return dir.path
    }

    static let file = """
        # a comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key=secret/default+1

        [profile work]
        aws_access_key_id = AKIDWORK
        aws_secret_access_key = secret-work
        aws_session_token = token-work
        ; another comment
        [broken]
        aws_access_key_id = AKIDBROKEN
        """

    @Test("environment keys come first")
    func environment() throws {
        let chain = CredentialChain(environment: ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"],
                                    homeDirectory: try Self.home(with: Self.file))
        #expect(try chain.resolve() == SigV4Credentials(accessKeyId: "AKIDENV", secretAccessKey: "s", sessionToken: "t"))
        // An explicit profile wins over the environment.
        #expect(try chain.resolve(profile: "work").accessKeyId == "AKIDWORK")
    }

    @Test("the shared file, by profile")
    func sharedFile() throws {
        let home = try Self.home(with: Self.file)
        let chain = CredentialChain(environment: [:], homeDirectory: home)
        #expect(try chain.resolve() == SigV4Credentials(accessKeyId: "AKIDDEFAULT", secretAccessKey: "secret/default+1"))
        #expect(try chain.resolve(profile: "work") == SigV4Credentials(accessKeyId: "AKIDWORK", secretAccessKey: "secret-work", sessionToken: "token-work"))
        let viaEnv = CredentialChain(environment: ["AWS_PROFILE": "work"], homeDirectory: home)
        #expect(try viaEnv.resolve().accessKeyId == "AKIDWORK")
    }

    @Test("clear errors when nothing usable is found")
    func errors() throws {
        let home = try Self.home(with: Self.file)
        #expect(throws: CredentialError.self) { try CredentialChain(environment: [:], homeDirectory: home).resolve(profile: "missing") }
        #expect(throws: CredentialError.self) { try CredentialChain(environment: [:], homeDirectory: home).resolve(profile: "broken") }
        #expect(throws: CredentialError.self) { try CredentialChain(environment: ["AWS_ACCESS_KEY_ID": "x"], homeDirectory: home).resolve() }
        #expect(throws: CredentialError.self) { try CredentialChain(environment: [:], homeDirectory: "/nonexistent-home").resolve() }
    }
}

@Suite("Endpoints")
struct S3EndpointTests {
    @Test("parsing and addressing")
    func endpoints() throws {
        let local = try S3Endpoint(url: "http://127.0.0.1:9000/")
        #expect(local.host == "127.0.0.1:9000")
        #expect(local.location(bucket: "b", key: "a b.png").host == "127.0.0.1:9000")
        #expect(local.location(bucket: "b", key: "a b.png").path == "/b/a b.png")
        #expect(try S3Endpoint(url: "https://Example.com:443").host == "example.com")
        #expect(try S3Endpoint(url: "http://example.com:80").host == "example.com")
        let aws = S3Endpoint.aws(region: "eu-west-1")
        #expect(aws.location(bucket: "b", key: "k").host == "b.s3.eu-west-1.amazonaws.com")
        #expect(aws.location(bucket: "b", key: "k").path == "/k")
        #expect(S3Endpoint.aws(region: "us-east-1").host == "s3.amazonaws.com")
        for bad in ["127.0.0.1:9000", "ftp://x", "http://", "http://h/path", "http://u@h"] {
            #expect(throws: EndpointError.self) { try S3Endpoint(url: bad) }
        }
    }
}

@Suite("Credential chain home")
struct CredentialChainHomeTests {
    @Test("$HOME decides where ~/.aws/credentials is")
    func homeFromEnvironment() throws {
        let home = try CredentialChainTests.home(with: CredentialChainTests.file)
        let chain = CredentialChain(environment: ["HOME": home])
        #expect(chain.homeDirectory == home)
        #expect(try chain.resolve(profile: "work").accessKeyId == "AKIDWORK")
    }
}
