import Foundation
@testable import ImageWorker
import Testing
import Uploads

/// Headers built byte by byte from the formats' specifications.
enum Samples {
    static func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    static func le24(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF)] }

    static func png(width: Int, height: Int) -> [UInt8] {
        [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + be32(13) + Array("IHDR".utf8) + be32(width) + be32(height)
            + [8, 6, 0, 0, 0] + [0, 0, 0, 0]
    }

    /// SOI, an APP0 and an APP1 segment of `paddingSegments` × 60 KiB (EXIF-like), then SOF2 (progressive).
    static func jpeg(width: Int, height: Int, paddingSegments: Int = 0) -> [UInt8] {
        var bytes: [UInt8] = [0xFF, 0xD8]
        bytes += [0xFF, 0xE0] + be16(16) + Array("JFIF\0".utf8) + [1, 1, 0] + be16(1) + be16(1) + [0, 0]
        for _ in 0..<paddingSegments {
            bytes += [0xFF, 0xE1] + be16(60 * 1024 + 2) + [UInt8](repeating: 0x41, count: 60 * 1024)
        }
        bytes += [0xFF, 0xFF]  // a fill byte before the next marker
        bytes += [0xC2] + be16(17) + [8] + be16(height) + be16(width) + [3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]
        bytes += [0xFF, 0xDA] + be16(12) + [UInt8](repeating: 0, count: 10) + [0xFF, 0xD9]
        return bytes
    }

    static func gif(width: Int, height: Int) -> [UInt8] {
        Array("GIF89a".utf8) + le16(width) + le16(height) + [0x80, 0, 0]
    }

    static func riff(_ chunk: String, _ payload: [UInt8]) -> [UInt8] {
        Array("RIFF".utf8) + [UInt8](repeating: 0, count: 4) + Array("WEBP".utf8) + Array(chunk.utf8) + [UInt8](repeating: 0, count: 4) + payload
    }

    static func webpLossy(width: Int, height: Int) -> [UInt8] {
        riff("VP8 ", [0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A] + le16(width) + le16(height) + [0, 0])
    }

    static func webpLossless(width: Int, height: Int) -> [UInt8] {
        let bits = (width - 1) | (height - 1) << 14
        return riff("VP8L", [0x2F, UInt8(bits & 0xFF), UInt8(bits >> 8 & 0xFF), UInt8(bits >> 16 & 0xFF), UInt8(bits >> 24 & 0xFF)] + [0, 0, 0, 0, 0])
    }

    static func webpExtended(width: Int, height: Int) -> [UInt8] {
        riff("VP8X", [0x10, 0, 0, 0] + le24(width - 1) + le24(height - 1) + [0, 0])
    }

    static func box(_ type: String, _ payload: [UInt8]) -> [UInt8] { be32(8 + payload.count) + Array(type.utf8) + payload }

    static func avif(width: Int, height: Int, thumbnail: (Int, Int)? = (64, 48)) -> [UInt8] {
        let ftyp = box("ftyp", Array("avif".utf8) + be32(0) + Array("mif1".utf8) + Array("miaf".utf8))
        var properties: [UInt8] = []
        if let thumbnail { properties += box("ispe", be32(0) + be32(thumbnail.0) + be32(thumbnail.1)) }
        properties += box("ispe", be32(0) + be32(width) + be32(height))
        let meta = box("meta", be32(0) + box("hdlr", be32(0) + be32(0) + Array("pict".utf8) + [UInt8](repeating: 0, count: 13))
            + box("iprp", box("ipco", properties)))
        return ftyp + meta + box("mdat", [1, 2, 3])
    }
}

@Suite("Image headers")
struct ImageHeaderTests {
    static func profile(_ bytes: [UInt8]) -> Bool? {
        guard case .image(let header) = ImageHeader.inspect(bytes, complete: true) else { return nil }
        return header.hasColourProfile
    }

    @Test("an embedded colour profile is seen in JPEG, PNG, WebP and AVIF, and only a profile counts")
    func colourProfiles() {
        let plainJPEG = Samples.jpeg(width: 10, height: 10)
        #expect(Self.profile(plainJPEG) == false)
        var jpeg = plainJPEG
        jpeg.insert(contentsOf: [0xFF, 0xE2] + Samples.be16(2 + 12 + 2 + 4) + Array("ICC_PROFILE\0".utf8) + [1, 1, 0, 0, 0, 0], at: 2)
        #expect(Self.profile(jpeg) == true)
        var flashPix = plainJPEG  // another APP2: not a profile
        flashPix.insert(contentsOf: [0xFF, 0xE2] + Samples.be16(2 + 5) + Array("FPXR\0".utf8), at: 2)
        #expect(Self.profile(flashPix) == false)
        var truncated = plainJPEG  // an APP2 cut short by the end of the bytes
        truncated.insert(contentsOf: [0xFF, 0xE2] + Samples.be16(400) + Array("ICC_PRO".utf8), at: 2)
        #expect(Self.profile(truncated) == nil || Self.profile(truncated) == false)

        let plainPNG = TinyPNG.make(width: 4, height: 4)
        #expect(Self.profile(plainPNG) == false)
        let ihdrEnd = 8 + 12 + 13
        var png = plainPNG
        png.insert(contentsOf: TinyPNG.chunk("iCCP", Array("Display P3\0\0".utf8) + [0x78, 0x01]), at: ihdrEnd)
        #expect(Self.profile(png) == true)

        var webp = Samples.webpExtended(width: 10, height: 10)
        #expect(Self.profile(webp) == false)
        webp[20] |= 0x20
        #expect(Self.profile(webp) == true)

        func avif(_ properties: [UInt8]) -> [UInt8] {
            let ftyp = Samples.box("ftyp", Array("avif".utf8) + Samples.be32(0) + Array("mif1".utf8))
            let meta = Samples.box("meta", Samples.be32(0) + Samples.box("iprp", Samples.box("ipco", properties)))
            return ftyp + meta
        }
        let ispe = Samples.box("ispe", Samples.be32(0) + Samples.be32(64) + Samples.be32(48))
        #expect(Self.profile(avif(ispe)) == false)
        #expect(Self.profile(avif(ispe + Samples.box("colr", Array("nclx".utf8) + [0, 1, 0, 13, 0, 6, 0x80]))) == false)
        #expect(Self.profile(avif(ispe + Samples.box("colr", Array("prof".utf8) + [1, 2, 3, 4]))) == true)
    }

    @Test("each format's magic bytes and pixel size")
    func formats() {
        let cases: [([UInt8], ImageHeader)] = [
            (Samples.png(width: 800, height: 600), .init(format: .png, width: 800, height: 600)),
            (Samples.jpeg(width: 4032, height: 3024), .init(format: .jpeg, width: 4032, height: 3024)),
            (Samples.gif(width: 320, height: 200), .init(format: .gif, width: 320, height: 200)),
            (Samples.webpLossy(width: 1024, height: 768), .init(format: .webp, width: 1024, height: 768)),
            (Samples.webpLossless(width: 16383, height: 2), .init(format: .webp, width: 16383, height: 2)),
            (Samples.webpExtended(width: 20000, height: 10000), .init(format: .webp, width: 20000, height: 10000)),
            (Samples.avif(width: 3840, height: 2160), .init(format: .avif, width: 3840, height: 2160)),
        ]
        for (bytes, expected) in cases {
            #expect(ImageHeader.inspect(bytes, complete: true) == .image(expected), "\(expected.format)")
        }
    }

    /// Fuzzing's findings (`Fuzz/Regressions/image-header`): AVIF `ispe` sizes near 2^32 made the
    /// comparison of two images' areas overflow `Int` and trap.
    @Test("AVIF sizes whose area overflows Int are compared without trapping", arguments: [
        (0xFFFF_FFFF, 0xFFFF_FFFF), (0xFFFF_FFFF, 2), (0x8000_0000, 0x8000_0000),
    ])
    func avifAreaOverflow(width: Int, height: Int) {
        let bytes = Samples.avif(width: width, height: height)
        #expect(ImageHeader.inspect(bytes, complete: true) == .image(.init(format: .avif, width: width, height: height)))
        // The larger one second: the first image's area is the one compared.
        let reversed = Samples.avif(width: 64, height: 48, thumbnail: (width, height))
        #expect(ImageHeader.inspect(reversed, complete: true) == .image(.init(format: .avif, width: width, height: height)))
    }

    /// Fuzzing's finding (`Fuzz/Regressions/image-header/avif-second-meta-after-truncated`): a
    /// second `meta` box after the first, complete once more bytes came, changed the size found.
    @Test("an AVIF's size comes from its first meta box: a second one, or bytes after the file, change nothing")
    func avifFirstMetaOnly() {
        let first = Samples.avif(width: 64, height: 48)
        let second = Samples.avif(width: 8000, height: 6000)
        let expected = ImageHeader.Inspection.image(.init(format: .avif, width: 64, height: 48))
        #expect(ImageHeader.inspect(first + second, complete: true) == expected)
        // The second file's ftyp and meta (no mdat), cut inside its last ispe, then completed.
        let secondHeader = Array(second.dropLast(11))
        #expect(ImageHeader.inspect(first + secondHeader.dropLast(4), complete: true) == expected)
        #expect(ImageHeader.inspect(first + secondHeader.dropLast(4) + secondHeader.suffix(4), complete: true) == expected)
    }

    @Test("a JPEG frame header past the first bytes asks for more, then is found")
    func jpegNeedsMore() {
        let bytes = Samples.jpeg(width: 640, height: 480, paddingSegments: 3)  // ~180 KiB of APP1 before SOF
        #expect(ImageHeader.inspect(Array(bytes.prefix(64 * 1024)), complete: false) == .needMoreBytes(.jpeg))
        #expect(ImageHeader.inspect(bytes, complete: true) == .image(.init(format: .jpeg, width: 640, height: 480)))
        // Cut short and complete: broken, not "read more".
        if case .notAnImage(let why) = ImageHeader.inspect(Array(bytes.prefix(64 * 1024)), complete: true) {
            #expect(why.contains("broken or truncated"))
        } else {
            Issue.record("a truncated JPEG was not refused")
        }
    }

    @Test("what is not an image says what it is")
    func notImages() {
        let cases: [([UInt8], String)] = [
            (Array("just some text\n".utf8), "text, not an image"),
            (Array("%PDF-1.7\n".utf8) + [0xE2, 0xE3, 0x00, 0x01], "a PDF document, not an image"),
            ([0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x01], "a ZIP archive, not an image"),
            ([], "an empty file"),
            ([0x00, 0x01, 0x02, 0x03, 0x04], "data of no known image format"),
            (Samples.png(width: 0, height: 10), "a png file with a zero pixel size"),
        ]
        for (bytes, expected) in cases {
            #expect(ImageHeader.inspect(bytes, complete: true) == .notAnImage(expected))
        }
        // A JPEG's magic with no frame header before its scan is broken.
        #expect(ImageHeader.inspect([0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02], complete: true)
                == .notAnImage("a jpeg file whose header is broken or truncated"))
    }

    @Test("declared types map to formats")
    func contentTypes() {
        #expect(ImageHeader.Format(contentType: "image/jpeg") == .jpeg)
        #expect(ImageHeader.Format(contentType: "IMAGE/PNG; charset=binary") == .png)
        #expect(ImageHeader.Format(contentType: "image/svg+xml") == nil)
        #expect(ImageHeader.Format.allCases.allSatisfy { ImageHeader.Format(contentType: $0.contentType) == $0 })
    }

    @Test("upload keys and retry backoff")
    func keysAndBackoff() {
        let key = UploadKey("articles/3f1c/raw/9a8b.jpg")
        #expect(key?.articleId == "3f1c")
        #expect(key?.processedPrefix == "articles/3f1c/processed/9a8b/")
        for bad in ["articles/3f1c/processed/9a8b/web.webp", "quarantine/articles/a/raw/b.jpg", "articles//raw/b.jpg", "articles/a/raw/.jpg"] {
            #expect(UploadKey(bad) == nil, "\(bad)")
        }
        #expect((1...12).map { ImageWorker.backoff(receiveCount: $0) } == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])
    }
}
