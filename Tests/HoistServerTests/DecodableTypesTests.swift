import Foundation
@testable import HoistServer
import ImageWorker
import Logging
import Testing
import Uploads

/// HEIC/HEIF stay in the policy only where libvips decodes them: the API never accepts what the worker cannot process.
@Suite("Start-up: types libvips can decode")
struct DecodableTypesTests {
    static func configuration() throws -> HoistConfiguration {
        try HoistConfiguration(environment: ["HOIST_DATA": FileManager.default.temporaryDirectory.path])
    }

    @Test("without libvips (or without its vips command), image/heic and image/heif are dropped; the rest stays")
    func withoutDecoder() async throws {
        let configuration = try Self.configuration()
        #expect(configuration.policy.allowedTypes["image/heic"] == "heic")
        let none = await HoistServer.withDecodableTypes(configuration, logger: Logger(label: "test"), thumbnailer: nil)
        #expect(none.policy.allowedTypes["image/heic"] == nil && none.policy.allowedTypes["image/heif"] == nil)
        #expect(none.policy.allowedTypes["image/jpeg"] == "jpg" && none.policy.allowedTypes["image/avif"] == "avif")
        let broken = await HoistServer.withDecodableTypes(configuration, logger: Logger(label: "test"),
                                                          thumbnailer: Thumbnailer(executable: "/nonexistent/bin/vipsthumbnail"))
        #expect(broken.policy.allowedTypes["image/heic"] == nil)
    }

    @Test("with Debian's libvips-tools (libheif with HEVC), both stay",
          .enabled(if: Thumbnailer.find() != nil || ProcessInfo.processInfo.environment["HOIST_REQUIRE_VIPS"] == "1",
                   "vipsthumbnail is not installed (libvips-tools)"))
    func withDecoder() async throws {
        let kept = await HoistServer.withDecodableTypes(try Self.configuration(), logger: Logger(label: "test"))
        #expect(kept.policy.allowedTypes["image/heic"] == "heic" && kept.policy.allowedTypes["image/heif"] == "heif")
    }
}
