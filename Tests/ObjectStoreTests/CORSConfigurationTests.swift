import Foundation
@testable import ObjectStore
import Testing

@Suite("CORS configuration")
struct CORSConfigurationTests {
    @Test("origin wildcards", arguments: [
        ("*", "http://anything", true), ("http://*.example.com", "http://a.example.com", true),
        ("http://*.example.com", "http://example.com", false), ("http://*.example.com", "https://a.example.com", false),
        ("http://localhost:8080", "http://localhost:8080", true), ("http://localhost:8080", "http://localhost:8081", false),
        ("https://*", "https://x", true),
    ])
    func origins(_ pattern: String, _ origin: String, _ matches: Bool) {
        #expect(CORSConfiguration.wildcardMatch(pattern: pattern, origin, caseInsensitive: false) == matches)
    }

    @Test("the first rule that allows origin, method and headers applies")
    func matching() throws {
        let configuration = CORSConfiguration(rules: [
            .init(id: "a", allowedOrigins: ["http://a.test"], allowedMethods: ["GET"]),
            .init(id: "b", allowedOrigins: ["http://*.test"], allowedMethods: ["GET", "PUT"], allowedHeaders: ["Content-*", "x-amz-meta-*"]),
        ])
        #expect(configuration.rule(origin: "http://a.test", method: "GET")?.id == "a")
        #expect(configuration.rule(origin: "http://a.test", method: "PUT", headers: ["content-type"])?.id == "b")
        #expect(configuration.rule(origin: "http://a.test", method: "PUT", headers: ["authorization"]) == nil)
        #expect(configuration.rule(origin: "http://a.test", method: "DELETE") == nil)
    }

    @Test("XML round trip and validation")
    func xml() throws {
        let text = "<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><CORSRule><ID>r1</ID><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule></CORSConfiguration>"
        let parsed = try CORSConfiguration(xml: Data(text.utf8))
        #expect(parsed.rules.first?.id == "r1")
        #expect(parsed.rules.first?.maxAgeSeconds == 30)
        #expect(try CORSConfiguration(xml: Data(parsed.xml.utf8)) == parsed)
        #expect(throws: S3Error.self) { try CORSConfiguration(xml: Data("<CORSConfiguration/>".utf8)) }
        #expect(throws: S3Error.self) { try CORSConfiguration(xml: Data("not xml".utf8)) }
        #expect(throws: S3Error.self) {
            try CORSConfiguration(xml: Data("<CORSConfiguration><CORSRule><AllowedOrigin>http://*.*.x</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>".utf8))
        }
    }
}
