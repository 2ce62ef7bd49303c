import Foundation
@testable import HoistServer
import Hummingbird
import HummingbirdTesting
import Testing

/// The page and the client module `hoist serve` serves are the files in Sources/HoistServer/Web.
@Suite("Web UI")
struct WebUITests {
    static let webFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/HoistServer/Web")

    static func file(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: webFolder.appendingPathComponent(name)))
    }

    @Test("GET /, /index.html and /hoist-upload.js serve them with their types")
    func routes() async throws {
        let router = Router()
        WebUI.addRoutes(to: router)
        try await Application(router: router).test(.router) { client in
            for path in ["/", "/index.html"] {
                let page = try await client.executeRequest(uri: path, method: .get, headers: [:], body: nil)
                #expect(page.status == .ok)
                #expect(page.headers[.contentType] == "text/html; charset=utf-8")
                #expect(Array(buffer: page.body) == (try Self.file("index.html")))
                #expect(String(buffer: page.body).hasPrefix("<!doctype html>"))
            }
            let script = try await client.executeRequest(uri: "/hoist-upload.js", method: .get, headers: [:], body: nil)
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.headers[.init("X-Content-Type-Options")!] == "nosniff")
            #expect(Array(buffer: script.body) == (try Self.file("hoist-upload.js")))
            #expect(String(buffer: script.body).contains("export class HoistUploader"))
            let missing = try await client.executeRequest(uri: "/hoist-upload.mjs", method: .get, headers: [:], body: nil)
            #expect(missing.status == .notFound)
        }
    }
}
