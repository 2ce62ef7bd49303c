import Foundation
@testable import ImageWorker
import Testing
import Uploads

/// A complete, decodable PNG (8-bit RGB, a gradient), written without any imaging library:
/// IHDR, one IDAT of stored (uncompressed) deflate blocks, IEND.
enum TinyPNG {
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return Samples.be32(data.count) + body + Samples.be32(Int(crc32(body)))
    }

    static func make(width: Int, height: Int) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0..<height {
            raw.append(0)  // filter: none
            for x in 0..<width { raw += [UInt8(x * 255 / max(width - 1, 1)), UInt8(y * 255 / max(height - 1, 1)), 128] }
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let count = min(65535, raw.count - offset)
            let final: UInt8 = offset + count == raw.count ? 1 : 0
            zlib += [final, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            zlib += raw[offset..<offset + count]
            offset += count
        } while offset < raw.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in raw { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        zlib += Samples.be32(Int(b << 16 | a))
        let header = Samples.be32(width) + Samples.be32(height) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", [])
    }
}

extension Thumbnailer: CustomTestStringConvertible {
    public var testDescription: String { engine }
}

@Suite("Thumbnails with libvips, in process and as commands", .serialized,
       .enabled(if: Thumbnailer.find() != nil || ProcessInfo.processInfo.environment["HOIST_REQUIRE_VIPS"] == "1",
                "libvips is not installed (libvips42, libvips-tools)"))
struct ThumbnailerTests {
    /// The library in process and the commands, each where installed.
    static let engines = Thumbnailer.engines()
    static let hasLibrary = engines.contains { $0.library != nil }

    static let sizes: [(Int, Int, [Int])] = [(2000, 1500, [320, 640, 1280, 1920]), (500, 400, [320]), (1500, 2000, [320, 640, 1280]),
                                            (200, 100, [320])]

    func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-thumbs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a real image gets each planned width in each format, read back from the files, never enlarged",
          arguments: ThumbnailerTests.engines, ThumbnailerTests.sizes)
    func variants(thumbnailer: Thumbnailer, size: (Int, Int, [Int])) async throws {
        let (width, height, planned) = size
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/in.png"
        let png = TinyPNG.make(width: width, height: height)
        #expect(ImageHeader.inspect(png, complete: true) == .image(.init(format: .png, width: width, height: height)))
        try Data(png).write(to: URL(fileURLWithPath: input))
        let made = try await thumbnailer.makeVariants(of: input, in: directory, plan: .standard, displayWidth: width)
        #expect(made.variants.map(\.plannedWidth) == planned.flatMap { [$0, $0] })
        #expect(made.variants.map(\.format) == planned.flatMap { _ in [ImageVariant.Format.webp, .avif] })
        for variant in made.variants {
            let expectedWidth = min(variant.plannedWidth, width)
            let expectedHeight = Int((Double(height) * Double(expectedWidth) / Double(width)).rounded())
            #expect(variant.width == expectedWidth && abs(variant.height - expectedHeight) <= 1, "\(variant)")
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: variant.path)))
            guard case .image(let header) = ImageHeader.inspect(bytes, complete: true) else {
                Issue.record("\(variant.path) is not an image")
                continue
            }
            #expect(header.format.rawValue == variant.format.rawValue)
            #expect((header.width, header.height) == (variant.width, variant.height))
        }
        let placeholder = try #require(made.placeholder)
        #expect(placeholder.hasPrefix("data:image/webp;base64,"))
        #expect(placeholder.utf8.count < 1024, "\(placeholder.utf8.count) bytes")
        let webp = try #require(Data(base64Encoded: String(placeholder.dropFirst("data:image/webp;base64,".count))))
        guard case .image(let tiny) = ImageHeader.inspect([UInt8](webp), complete: true) else {
            Issue.record("the placeholder is not a WebP image")
            return
        }
        #expect(tiny.format == .webp && max(tiny.width, tiny.height) <= 32 && !WebPMetadata.hasMetadata([UInt8](webp)))
    }

    @Test("WebP only: no AVIF is written", arguments: ThumbnailerTests.engines)
    func webpOnly(thumbnailer: Thumbnailer) async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Data(TinyPNG.make(width: 700, height: 300)).write(to: URL(fileURLWithPath: directory + "/in.png"))
        let made = try await thumbnailer.makeVariants(of: directory + "/in.png", in: directory,
                                                      plan: try VariantPlan(widths: [640, 320], formats: [.webp]), displayWidth: 700)
        #expect(made.variants.map { "\($0.format.rawValue)\($0.width)x\($0.height)" } == ["webp320x137", "webp640x274"])
        #expect(!FileManager.default.fileExists(atPath: directory + "/w320.avif"))
    }

    /// Runs a libvips tool beside `vipsthumbnail`; its standard output.
    func vipsTool(_ arguments: [String]) async throws -> String {
        try await runTool(try #require(Thumbnailer(executable: Thumbnailer.findExecutable(environment: ProcessInfo.processInfo.environment)).vips),
                          arguments)
    }

    @Test("a Display P3 photo's variants are converted to sRGB: its pure red stays pure red", arguments: ThumbnailerTests.engines)
    func displayP3(thumbnailer: Thumbnailer) async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // sRGB red (a PPM: no library needed), saved as a JPEG in Display P3 with the profile embedded.
        let ppm = Array("P6\n64 48\n255\n".utf8) + [UInt8](repeating: 0, count: 64 * 48 * 3).enumerated().map { $0.offset % 3 == 0 ? 255 : 0 }
        try Data(ppm).write(to: URL(fileURLWithPath: directory + "/red.ppm"))
        _ = try await vipsTool(["icc_export", directory + "/red.ppm", directory + "/p3.jpg", "--output-profile", "p3"])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/p3.jpg")))
        guard case .image(let header) = ImageHeader.inspect(bytes, complete: true) else {
            Issue.record("vips wrote no readable JPEG")
            return
        }
        #expect(header.hasColourProfile)
        func red(toSRGB: Bool) async throws -> [Int] {
            let out = directory + "/\(toSRGB)"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let made = try await thumbnailer.makeVariants(of: directory + "/p3.jpg", in: out,
                                                          plan: try VariantPlan(widths: [32, 64], formats: [.webp]), displayWidth: 64,
                                                          toSRGB: toSRGB)
            var pixels: [Int] = []
            for variant in made.variants {
                let point = try await vipsTool(["getpoint", variant.path, "10", "10"])
                pixels += point.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0).map { Int($0) } }
            }
            return pixels
        }
        let converted = try await red(toSRGB: true)
        #expect(converted.count == 6)
        for index in stride(from: 0, to: converted.count, by: 3) {
            #expect(converted[index] >= 240 && converted[index + 1] <= 20 && converted[index + 2] <= 20, "\(converted)")
        }
        // Without the conversion the P3 numbers would be shown as sRGB: a dull red.
        let raw = try await red(toSRGB: false)
        #expect(raw[0] < 235 && raw[1] > 35, "\(raw)")
    }

    @Test("a file whose header looks right but whose pixels do not decode is a failure with vips's message",
          arguments: ThumbnailerTests.engines)
    func undecodable(thumbnailer: Thumbnailer) async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/in.png"
        try Data(Samples.png(width: 64, height: 64)).write(to: URL(fileURLWithPath: input))
        let error = await #expect(throws: Thumbnailer.Failure.self) {
            try await thumbnailer.makeVariants(of: input, in: directory, plan: .standard, displayWidth: 64)
        }
        #expect(error?.description.isEmpty == false)
        // Complete chunks, but the compressed pixels are garbage: vipsthumbnail alone would shrink it.
        var garbled = TinyPNG.make(width: 64, height: 64)
        let idat = try #require(garbled.indices.first { Array(garbled[$0..<$0 + 4]) == Array("IDAT".utf8) })
        for i in (idat + 6)..<(idat + 40) { garbled[i] = 0xA5 }
        try Data(garbled).write(to: URL(fileURLWithPath: input))
        await #expect(throws: Thumbnailer.Failure.self) {
            try await thumbnailer.makeVariants(of: input, in: directory, plan: .standard, displayWidth: 64)
        }
    }

    @Test("HOIST_VIPS chooses the engine: the library in process by default, the commands when asked",
          .enabled(if: ThumbnailerTests.hasLibrary, "libvips.so.42 is not installed (libvips42)"))
    func choice() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["HOIST_VIPS"] = "commands"
        let commands = try #require(Thumbnailer.find(environment: environment))
        #expect(commands.library == nil && commands.executable != nil)
        #expect(commands.engine == "vips commands")
        environment["HOIST_VIPS"] = "library"
        let library = try #require(Thumbnailer.find(environment: environment)?.library, "libvips.so.42 did not load: \(VipsLibrary.shared)")
        #expect(Thumbnailer(executable: nil, library: library).engine.hasPrefix("libvips 8."))
        environment["HOIST_VIPS"] = nil
        let automatic = try #require(Thumbnailer.find(environment: environment))
        #expect(automatic.library != nil && automatic.engine.hasSuffix(" in process"))
    }

    @Test("in process, a decode that outlasts the time limit is stopped with an error, and the next one works",
          .enabled(if: ThumbnailerTests.hasLibrary, "libvips.so.42 is not installed (libvips42)"))
    func timeLimit() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A 2500×2500 PNG: PNG has no shrink-on-load, so every pixel is decoded (well over a millisecond).
        _ = try await vipsTool(["black", directory + "/in.png", "2500", "2500", "--bands", "3"])
        var thumbnailer = try #require(Thumbnailer.engines().first { $0.library != nil })
        thumbnailer.timeLimit = .milliseconds(1)
        let error = await #expect(throws: Thumbnailer.Failure.self) {
            try await thumbnailer.makeVariants(of: directory + "/in.png", in: directory, plan: .standard, displayWidth: 2500)
        }
        #expect(error?.description.contains("killed") == true, "\(String(describing: error))")
        thumbnailer.timeLimit = .seconds(120)
        let made = try await thumbnailer.makeVariants(of: directory + "/in.png", in: directory,
                                                      plan: try VariantPlan(widths: [320], formats: [.webp]), displayWidth: 2500)
        #expect(made.variants.map(\.width) == [320])
    }
}
