import Foundation
@testable import HoistServer
import Testing
import Uploads

@Suite("Configuration")
struct HoistConfigurationTests {
    @Test("defaults run the whole flow on one machine")
    func defaults() throws {
        let c = try HoistConfiguration(environment: [:])
        #expect(c.apiBaseURL == "http://127.0.0.1:8080")
        #expect(c.storeURL == "http://127.0.0.1:9000")
        #expect(c.bucket == "article-images")
        #expect(c.region == "us-east-1")
        #expect(c.policy.maximumSize == 10 * 1024 * 1024)
        #expect(c.auth == .dev)
        #expect(c.effectiveCORSOrigins.contains("http://127.0.0.1:8080"))
    }

    @Test("variant widths and formats: defaults, lists, and clear errors")
    func variants() throws {
        let standard = try HoistConfiguration(environment: [:]).worker.imageWorker.variants
        #expect(standard.widths == [320, 640, 1280, 1920] && standard.formats == [.webp, .avif])
        let c = try HoistConfiguration(environment: ["HOIST_VARIANT_WIDTHS": " 1200, 400 ,800", "HOIST_VARIANT_FORMATS": "WebP"])
        #expect(c.worker.imageWorker.variants.widths == [400, 800, 1200] && c.worker.imageWorker.variants.formats == [.webp])
        let avif = try HoistConfiguration(environment: ["HOIST_VARIANT_FORMATS": "avif"])
        #expect(avif.worker.imageWorker.variants.widths == [320, 640, 1280, 1920] && avif.worker.imageWorker.variants.formats == [.avif])
        for (name, value, words) in [
            ("HOIST_VARIANT_WIDTHS", "320,wide", "'wide'"), ("HOIST_VARIANT_WIDTHS", "320,320", "twice"),
            ("HOIST_VARIANT_WIDTHS", "8", "16…8192"), ("HOIST_VARIANT_WIDTHS", ",", "at least one width"),
            ("HOIST_VARIANT_WIDTHS", "1,2,3,4,5,6,7,8,9", "at most 8"), ("HOIST_VARIANT_FORMATS", "webp,jpeg", "'jpeg'"),
            ("HOIST_VARIANT_FORMATS", "avif,avif", "twice"), ("HOIST_VARIANT_FORMATS", ",,", "at least one format"),
        ] {
            let error = #expect(throws: ConfigurationError.self) { try HoistConfiguration(environment: [name: value]) }
            #expect(error?.description.hasPrefix(name) == true && error?.description.contains(words) == true, "\(name)=\(value): \(String(describing: error))")
        }
    }

    @Test("every variable is read, and bad values are named")
    func variables() throws {
        let c = try HoistConfiguration(environment: [
            "HOIST_API_PORT": "8181", "HOIST_BUCKET": "b1", "HOIST_REGION": "eu-west-1", "HOIST_URL_EXPIRY": "60",
            "HOIST_MAX_SIZE": "1000", "HOIST_ALLOWED_TYPES": "image/png, image/webp", "HOIST_RATE_BURST": "3",
            "HOIST_CORS_ORIGINS": "https://app.example.com", "HOIST_AUTH": "cognito", "HOIST_COGNITO_USER_POOL_ID": "eu-west-1_abc",
            "HOIST_COGNITO_CLIENT_IDS": "client1,client2",
        ])
        #expect(c.apiPort == 8181 && c.bucket == "b1" && c.region == "eu-west-1")
        #expect(c.policy.uploadURLExpiry == 60 && c.policy.maximumSize == 1000 && c.policy.burst == 3)
        #expect(c.policy.allowedTypes == ["image/png": "png", "image/webp": "webp"])
        #expect(c.corsOrigins == ["https://app.example.com"])
        #expect(c.auth == .cognito(region: "eu-west-1", userPoolId: "eu-west-1_abc", clientIds: ["client1", "client2"], tokenUses: ["access", "id"]))
        #expect(c.externalVerifierConfiguration?.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc")
        for (name, value) in [("HOIST_API_PORT", "x"), ("HOIST_URL_EXPIRY", "604801"), ("HOIST_AUTH", "magic"),
                              ("HOIST_CORS_ORIGINS", "*"), ("HOIST_ALLOWED_TYPES", "text/html"), ("HOIST_S3_ADDRESSING", "sideways")] {
            let error = #expect(throws: ConfigurationError.self) { try HoistConfiguration(environment: [name: value]) }
            #expect(error?.description.contains(name) == true, "\(name)")
        }
        #expect(throws: ConfigurationError.self) { try HoistConfiguration(environment: ["HOIST_AUTH": "oidc"]) }
    }

    @Test("HOIST_DATABASE_URL puts the records in PostgreSQL; pool and timeouts are read; a bad URL is named, not its password")
    func database() throws {
        #expect(try HoistConfiguration(environment: [:]).postgres == nil)
        let c = try HoistConfiguration(environment: ["HOIST_DATABASE_URL": "postgres://hoist:pw@db:5433/records", "HOIST_DATABASE_POOL_SIZE": "7",
                                                     "HOIST_DATABASE_TIMEOUT": "9", "HOIST_DATABASE_CONNECT_TIMEOUT": "4"])
        #expect(c.postgres?.host == "db" && c.postgres?.port == 5433 && c.postgres?.database == "records")
        #expect(c.postgres?.maximumConnections == 7 && c.postgres?.queryTimeout == .seconds(9) && c.postgres?.connectTimeout == .seconds(4))
        let error = #expect(throws: ConfigurationError.self) { try HoistConfiguration(environment: ["HOIST_DATABASE_URL": "mysql://u:secretpw@h/db"]) }
        #expect(error?.description.contains("HOIST_DATABASE_URL") == true)
        #expect(error?.description.contains("secretpw") == false)
        #expect(throws: ConfigurationError.self) {
            try HoistConfiguration(environment: ["HOIST_DATABASE_URL": "postgres://h/db", "HOIST_DATABASE_POOL_SIZE": "0"])
        }
    }

    @Test("the served OpenAPI document is the file CI validates")
    func openAPI() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/HoistServer/openapi.yaml")
        #expect(Array(try Data(contentsOf: file)) == WebAssets.openAPIYAML)
        #expect(String(decoding: WebAssets.openAPIYAML, as: UTF8.self).hasPrefix("openapi: 3.1"))
    }
}
