import Foundation
@testable import ImageWorker
import Testing

/// EXIF blocks written by hand: a TIFF header, IFD0 with Make, Orientation and a GPS pointer.
enum EXIFSamples {
    static func tiff(orientation: Int?, gps: Bool, littleEndian: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { littleEndian ? [UInt8(v & 0xFF), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] {
            let b = [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
            return littleEndian ? b.reversed() : b
        }
        var entries: [[UInt8]] = [u16(0x010F) + u16(2) + u32(4) + Array("Cam\0".utf8)]  // Make, ASCII, inline
        if let orientation { entries.append(u16(0x0112) + u16(3) + u32(1) + u16(orientation) + [0, 0]) }
        let gpsOffset = 8 + 2 + (entries.count + (gps ? 1 : 0)) * 12 + 4
        if gps { entries.append(u16(0x8825) + u16(4) + u32(1) + u32(gpsOffset)) }
        var out: [UInt8] = (littleEndian ? Array("II".utf8) : Array("MM".utf8)) + u16(42) + u32(8)
        out += u16(entries.count) + entries.flatMap { $0 } + u32(0)
        if gps { out += u16(1) + u16(0x0001) + u16(2) + u32(2) + Array("N\0".utf8) + [0, 0] + u32(0) }  // GPSLatitudeRef
        return out
    }

    /// An APP1 `Exif` segment holding `tiff`.
    static func app1(_ tiff: [UInt8]) -> [UInt8] {
        let body = Array("Exif\0\0".utf8) + tiff
        return [0xFF, 0xE1, UInt8((body.count + 2) >> 8), UInt8((body.count + 2) & 0xFF)] + body
    }

    /// `jpeg` with an EXIF segment right after its start-of-image marker.
    static func withEXIF(_ jpeg: [UInt8], _ tiff: [UInt8]) -> [UInt8] {
        Array(jpeg.prefix(2)) + app1(tiff) + Array(jpeg.dropFirst(2))
    }
}

@Suite("EXIF and WebP metadata")
struct EXIFSummaryTests {
    @Test("orientation and GPS are read in both byte orders", arguments: [true, false])
    func read(_ little: Bool) {
        for orientation in 1...8 {
            let jpeg = EXIFSamples.withEXIF(Samples.jpeg(width: 400, height: 200), EXIFSamples.tiff(orientation: orientation, gps: true, littleEndian: little))
            #expect(EXIFSummary.inJPEG(jpeg) == EXIFSummary(orientation: orientation, hasLocation: true))
            guard case .image(let header) = ImageHeader.inspect(jpeg, complete: true) else {
                Issue.record("not an image")
                return
            }
            #expect(header.width == 400 && header.height == 200)
            #expect(header.hasLocation)
            #expect((header.displayWidth, header.displayHeight) == (orientation >= 5 ? (200, 400) : (400, 200)))
        }
        let plain = EXIFSamples.withEXIF(Samples.jpeg(width: 10, height: 20), EXIFSamples.tiff(orientation: nil, gps: false, littleEndian: little))
        #expect(EXIFSummary.inJPEG(plain) == EXIFSummary(orientation: 1, hasLocation: false))
        #expect(EXIFSummary.inJPEG(Samples.jpeg(width: 10, height: 20)) == nil)
    }

    @Test("broken EXIF reads as none or as defaults, never traps")
    func broken() {
        let good = EXIFSamples.tiff(orientation: 6, gps: true, littleEndian: true)
        #expect(EXIFSummary.parse(tiff: good[...]) == EXIFSummary(orientation: 6, hasLocation: true))
        #expect(EXIFSummary.parse(tiff: []) == nil)
        #expect(EXIFSummary.parse(tiff: Array("XX\u{2A}\0\u{8}\0\0\0".utf8)[...]) == nil)
        // An orientation out of 1…8 is ignored; an IFD offset past the end is no summary.
        #expect(EXIFSummary.parse(tiff: EXIFSamples.tiff(orientation: 9, gps: false, littleEndian: true)[...])?.orientation == 1)
        #expect(EXIFSummary.parse(tiff: (Array("II".utf8) + [42, 0, 0xFF, 0xFF, 0xFF, 0x7F])[...]) == nil)
        // Every truncation and many random corruptions of a real block: no trap.
        let jpeg = EXIFSamples.withEXIF(Samples.jpeg(width: 40, height: 20), good)
        for end in 0...jpeg.count { _ = EXIFSummary.inJPEG(Array(jpeg.prefix(end))) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var bytes = good
            for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = EXIFSummary.parse(tiff: bytes[...])
            _ = EXIFSummary.inJPEG(EXIFSamples.withEXIF(Samples.jpeg(width: 4, height: 4), bytes))
        }
    }

    static func chunk(_ fourcc: String, _ body: [UInt8]) -> [UInt8] {
        let n = body.count
        return Array(fourcc.utf8) + [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24 & 0xFF)] + body + (n & 1 == 1 ? [0] : [])
    }

    static func riff(_ chunks: [[UInt8]]) -> [UInt8] {
        let body = Array("WEBP".utf8) + chunks.flatMap { $0 }
        let n = body.count
        return Array("RIFF".utf8) + [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24 & 0xFF)] + body
    }

    @Test("EXIF and XMP chunks leave a WebP; image data, ICC profile and the rest stay")
    func webp() throws {
        let vp8x = Self.chunk("VP8X", [0x20 | 0x08 | 0x04, 0, 0, 0, 9, 0, 0, 9, 0, 0])
        let iccp = Self.chunk("ICCP", Array(repeating: 7, count: 13))
        let image = Self.chunk("VP8L", Array(repeating: 1, count: 21))
        let exif = Self.chunk("EXIF", EXIFSamples.tiff(orientation: 6, gps: true, littleEndian: true))
        let xmp = Self.chunk("XMP ", Array("<x:xmpmeta>GPS</x:xmpmeta>".utf8))
        let file = Self.riff([vp8x, iccp, image, exif, xmp])
        #expect(WebPMetadata.hasMetadata(file))
        let clean = try #require(WebPMetadata.removingMetadata(file))
        #expect(!WebPMetadata.hasMetadata(clean))
        var expectedHeader = vp8x
        expectedHeader[8] = 0x20
        #expect(clean == Self.riff([expectedHeader, iccp, image]))
        #expect(WebPMetadata.removingMetadata(clean) == clean)
        // Not WebP, or chunk sizes that run past the file: refused, never trapped on.
        #expect(WebPMetadata.removingMetadata(Array("RIFF\u{4}\0\0\0WAVE".utf8)) == nil)
        var overlong = file
        overlong[16] = 0xFF
        overlong[17] = 0xFF
        #expect(WebPMetadata.removingMetadata(overlong) == nil)
        for end in 0...file.count { _ = WebPMetadata.removingMetadata(Array(file.prefix(end))) }
    }

    @Test("a phone-like JPEG (EXIF orientation 6, camera, GPS): derived images carry no EXIF and are turned",
          .enabled(if: Thumbnailer.find() != nil || ProcessInfo.processInfo.environment["HOIST_REQUIRE_VIPS"] == "1",
                   "vipsthumbnail is not installed (libvips-tools)"))
    func privacy() async throws {
        let thumbnailer = try #require(Thumbnailer.find())
        let vips = try #require(thumbnailer.vips, "libvips' vips command is not beside vipsthumbnail")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-exif-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A real 400×200 JPEG from libvips, then our EXIF block in front of its data.
        _ = try await runTool(vips, ["xyz", directory + "/plain.jpg", "400", "200"])
        let plain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/plain.jpg")))
        let photo = EXIFSamples.withEXIF(plain, EXIFSamples.tiff(orientation: 6, gps: true, littleEndian: false))
        try Data(photo).write(to: URL(fileURLWithPath: directory + "/photo.jpg"))
        guard case .image(let header) = ImageHeader.inspect(photo, complete: true) else {
            Issue.record("the photo is not an image")
            return
        }
        #expect((header.displayWidth, header.displayHeight, header.hasLocation) == (200, 400, true))
        let plan = try VariantPlan(widths: [100, 160, 320], formats: [.webp, .avif])
        let made = try await thumbnailer.makeVariants(of: directory + "/photo.jpg", in: directory, plan: plan,
                                                      displayWidth: header.displayWidth)
        #expect(made.variants.map(\.plannedWidth) == [100, 100, 160, 160])
        for variant in made.variants {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: variant.path)))
            let name = (variant.path as NSString).lastPathComponent
            switch variant.format {
            case .webp: #expect(!WebPMetadata.hasMetadata(bytes), "\(name) still carries EXIF or XMP")
            case .avif:
                #expect(AVIFMetadata.itemTypes(bytes).contains("av01"), "\(name): \(AVIFMetadata.itemTypes(bytes))")
                #expect(!AVIFMetadata.hasMetadata(bytes), "\(name) still carries EXIF or XMP")
                #expect(!bytes.contains(subsequence: Array("Cam\0".utf8)), "\(name) still names the camera")
            }
            guard case .image(let derived) = ImageHeader.inspect(bytes, complete: true) else {
                Issue.record("\(name) is not an image")
                continue
            }
            #expect(derived.format.rawValue == variant.format.rawValue)
            #expect(derived.width < derived.height, "\(name) is \(derived.width)×\(derived.height): not turned upright")
        }
        let tiny = try #require(made.placeholder.flatMap { Data(base64Encoded: String($0.dropFirst("data:image/webp;base64,".count))) })
        guard case .image(let preview) = ImageHeader.inspect([UInt8](tiny), complete: true) else {
            Issue.record("the placeholder is not an image")
            return
        }
        #expect(preview.width < preview.height && preview.height <= 32, "placeholder \(preview.width)×\(preview.height)")
        // The checker sees what libvips writes when not asked to strip.
        _ = try await runTool(vips, ["copy", directory + "/photo.jpg", directory + "/kept.avif[Q=30,effort=0]"])
        let kept = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/kept.avif")))
        #expect(AVIFMetadata.hasMetadata(kept), "\(AVIFMetadata.itemTypes(kept))")
    }
}

/// HEIC from a phone: recognised by its brands, sized by `ispe`, turned by `irot`, its GPS found and
/// kept out of the variants, which libvips makes from it as from any other photo.
@Suite("HEIC")
struct HEICTests {
    /// An ISO BMFF box.
    static func box(_ type: String, _ body: [UInt8]) -> [UInt8] {
        let size = UInt32(8 + body.count)
        return withUnsafeBytes(of: size.bigEndian) { Array($0) } + Array(type.utf8) + body
    }

    /// A HEIF header with the brands, an `ispe` of `width`×`height` and, with `quarterTurn`, an `irot` of 90°.
    static func header(_ brands: [String], width: UInt32, height: UInt32, quarterTurn: Bool) -> [UInt8] {
        let ftyp = box("ftyp", Array(brands[0].utf8) + [0, 0, 0, 0] + brands.dropFirst().flatMap { Array($0.utf8) })
        let ispe = box("ispe", [0, 0, 0, 0] + withUnsafeBytes(of: width.bigEndian) { Array($0) } + withUnsafeBytes(of: height.bigEndian) { Array($0) })
        let irot = quarterTurn ? box("irot", [1]) : []
        let meta = box("meta", [0, 0, 0, 0] + box("iprp", box("ipco", ispe + irot)))
        return ftyp + meta
    }

    @Test("brands: heic, heix and generic mif1 are HEIC; an AVIF brand wins; a video is not an image")
    func brands() {
        for brands in [["heic", "mif1", "heic"], ["heix", "mif1"], ["mif1", "miaf"], ["msf1", "hevc"]] {
            guard case .image(let header) = ImageHeader.inspect(Self.header(brands, width: 4032, height: 3024, quarterTurn: false), complete: true) else {
                Issue.record("\(brands) is not recognised")
                continue
            }
            #expect(header.format == .heic)
            #expect((header.width, header.height, header.displayWidth) == (4032, 3024, 4032))
        }
        guard case .image(let avif) = ImageHeader.inspect(Self.header(["mif1", "avif", "miaf"], width: 10, height: 10, quarterTurn: false),
                                                          complete: true) else {
            Issue.record("AVIF not recognised")
            return
        }
        #expect(avif.format == .avif)
        #expect(ImageHeader.inspect(Self.header(["isom", "mp42"], width: 10, height: 10, quarterTurn: false), complete: true)
                == .notAnImage("data of no known image format"))
        #expect(ImageHeader.Format(contentType: "image/heic") == .heic)
        #expect(ImageHeader.Format(contentType: "image/HEIF") == .heic)
    }

    @Test("an irot of 90°: the displayed size is turned")
    func rotation() {
        guard case .image(let header) = ImageHeader.inspect(Self.header(["heic", "mif1"], width: 4032, height: 3024, quarterTurn: true), complete: true) else {
            Issue.record("not recognised")
            return
        }
        #expect((header.displayWidth, header.displayHeight) == (3024, 4032))
    }

    @Test("a real HEIC from libvips with a GPS position: found in the header, decoded, and absent from every variant",
          .enabled(if: Thumbnailer.find() != nil || ProcessInfo.processInfo.environment["HOIST_REQUIRE_VIPS"] == "1",
                   "vipsthumbnail is not installed (libvips-tools)"))
    func realHEIC() async throws {
        let thumbnailer = try #require(Thumbnailer.find())
        #expect(await thumbnailer.decodesHEIF(), "libvips here cannot decode HEIC (libheif with an HEVC decoder)")
        let vips = try #require(thumbnailer.vips)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-heic-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = try await runTool(vips, ["xyz", directory + "/plain.jpg", "400", "200"])
        let plain = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/plain.jpg")))
        let photo = EXIFSamples.withEXIF(plain, EXIFSamples.tiff(orientation: 1, gps: true, littleEndian: false))
        try Data(photo).write(to: URL(fileURLWithPath: directory + "/photo.jpg"))
        _ = try await runTool(vips, ["copy", directory + "/photo.jpg", directory + "/photo.heic[Q=40]"])
        let heic = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/photo.heic")))
        guard case .image(let header) = ImageHeader.inspect(heic, complete: true) else {
            Issue.record("libvips' HEIC is not recognised: \(ImageHeader.inspect(heic, complete: true))")
            return
        }
        #expect(header.format == .heic)
        #expect((header.width, header.height) == (400, 200))
        #expect(header.hasLocation, "the GPS position in the HEIC's EXIF item was not found")
        let made = try await thumbnailer.makeVariants(of: directory + "/photo.heic", in: directory,
                                                      plan: try VariantPlan(widths: [160, 320], formats: [.webp, .avif]),
                                                      displayWidth: header.displayWidth)
        #expect(made.variants.map { "\($0.format.rawValue)\($0.width)x\($0.height)" } == ["webp160x80", "avif160x80", "webp320x160", "avif320x160"])
        for variant in made.variants {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: variant.path)))
            #expect(!bytes.contains(subsequence: Array("Cam\0".utf8)), "\(variant.path) still names the camera")
            if case .image(let derived) = ImageHeader.inspect(bytes, complete: true) { #expect(!derived.hasLocation) }
        }
        #expect(made.placeholder != nil)
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<$0 + needle.count].elementsEqual(needle) }
    }
}
