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

    static func file(_ name: String) throws -> String {
        try String(contentsOf: webFolder.appendingPathComponent(name), encoding: .utf8)
    }

    @Test("the compiled-in texts are the files (run Sources/HoistServer/Web/embed.py after editing them)")
    func embedded() throws {
        #expect(try Self.file("index.html") == WebAssets.indexHTML)
        #expect(try Self.file("hoist-upload.js") == WebAssets.uploadJS)
        #expect(WebAssets.indexHTML.hasPrefix("<!doctype html>"))
        #expect(WebAssets.uploadJS.contains("export class HoistUploader"))
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
                #expect(String(buffer: page.body) == WebAssets.indexHTML)
            }
            let script = try await client.executeRequest(uri: "/hoist-upload.js", method: .get, headers: [:], body: nil)
            #expect(script.status == .ok)
            #expect(script.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(script.headers[.init("X-Content-Type-Options")!] == "nosniff")
            #expect(String(buffer: script.body) == WebAssets.uploadJS)
            let missing = try await client.executeRequest(uri: "/hoist-upload.mjs", method: .get, headers: [:], body: nil)
            #expect(missing.status == .notFound)
        }
    }
}
