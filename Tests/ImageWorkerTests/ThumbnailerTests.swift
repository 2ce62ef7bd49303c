import Foundation
@testable import ImageWorker
import Testing

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

@Suite("Thumbnails with vipsthumbnail", .enabled(if: Thumbnailer.find() != nil || ProcessInfo.processInfo.environment["HOIST_REQUIRE_VIPS"] == "1",
                   "vipsthumbnail is not installed (libvips-tools)"))
struct ThumbnailerTests {
    func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-thumbs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a real image gets both variants, WebP, within their boxes, never enlarged")
    func variants() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/in.png"
        let png = TinyPNG.make(width: 640, height: 400)
        #expect(ImageHeader.inspect(png, complete: true) == .image(.init(format: .png, width: 640, height: 400)))
        try Data(png).write(to: URL(fileURLWithPath: input))
        let thumbnailer = try #require(Thumbnailer.find())
        let files = try await thumbnailer.makeVariants(of: input, in: directory)
        #expect(Set(files.keys) == ["thumbnail", "web"])
        for (name, expected) in [("thumbnail", (320, 200)), ("web", (640, 400))] {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try #require(files[name]))))
            #expect(ImageHeader.inspect(bytes, complete: true) == .image(.init(format: .webp, width: expected.0, height: expected.1)), "\(name)")
        }
    }

    /// Runs a libvips tool beside `vipsthumbnail`; its standard output.
    func vipsTool(_ arguments: [String]) throws -> String {
        let thumbnailer = try #require(Thumbnailer.find())
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(thumbnailer.vips))
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "vips \(arguments.joined(separator: " "))")
        return String(decoding: output, as: UTF8.self)
    }

    @Test("a Display P3 photo's variants are converted to sRGB: its pure red stays pure red")
    func displayP3() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // sRGB red (a PPM: no library needed), saved as a JPEG in Display P3 with the profile embedded.
        let ppm = Array("P6\n64 48\n255\n".utf8) + [UInt8](repeating: 0, count: 64 * 48 * 3).enumerated().map { $0.offset % 3 == 0 ? 255 : 0 }
        try Data(ppm).write(to: URL(fileURLWithPath: directory + "/red.ppm"))
        _ = try vipsTool(["icc_export", directory + "/red.ppm", directory + "/p3.jpg", "--output-profile", "p3"])
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/p3.jpg")))
        guard case .image(let header) = ImageHeader.inspect(bytes, complete: true) else {
            Issue.record("vips wrote no readable JPEG")
            return
        }
        #expect(header.hasColourProfile)
        let thumbnailer = try #require(Thumbnailer.find())
        func red(toSRGB: Bool) async throws -> [Int] {
            let out = directory + "/\(toSRGB)"
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let files = try await thumbnailer.makeVariants(of: directory + "/p3.jpg", in: out, toSRGB: toSRGB)
            var pixels: [Int] = []
            for name in ["web", "thumbnail"] {
                let point = try vipsTool(["getpoint", try #require(files[name]), "10", "10"])
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

    @Test("a file whose header looks right but whose pixels do not decode is a failure with vips's message")
    func undecodable() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let input = directory + "/in.png"
        try Data(Samples.png(width: 64, height: 64)).write(to: URL(fileURLWithPath: input))
        let thumbnailer = try #require(Thumbnailer.find())
        let error = await #expect(throws: Thumbnailer.Failure.self) { try await thumbnailer.makeVariants(of: input, in: directory) }
        #expect(error?.description.isEmpty == false)
        // Complete chunks, but the compressed pixels are garbage: vipsthumbnail alone would shrink it.
        var garbled = TinyPNG.make(width: 64, height: 64)
        let idat = try #require(garbled.indices.first { Array(garbled[$0..<$0 + 4]) == Array("IDAT".utf8) })
        for i in (idat + 6)..<(idat + 40) { garbled[i] = 0xA5 }
        try Data(garbled).write(to: URL(fileURLWithPath: input))
        await #expect(throws: Thumbnailer.Failure.self) { try await thumbnailer.makeVariants(of: input, in: directory) }
    }
}
