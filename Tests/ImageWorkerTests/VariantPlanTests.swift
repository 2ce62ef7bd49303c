@testable import ImageWorker
import Testing
import Uploads

@Suite("Variant plans")
struct VariantPlanTests {
    static let planned: [(Int, [Int])] = [
        (2000, [320, 640, 1280, 1920]), (1920, [320, 640, 1280, 1920]), (1919, [320, 640, 1280]), (1280, [320, 640, 1280]),
        (700, [320, 640]), (500, [320]), (320, [320]), (100, [320]), (1, [320]),
    ]

    @Test("an image gets the widths up to its own, and always the smallest", arguments: planned)
    func widths(displayWidth: Int, expected: [Int]) {
        #expect(VariantPlan.standard.widths(forDisplayWidth: displayWidth) == expected)
    }

    @Test("the defaults; widths are sorted; WebP is preferred for the compatibility names when made")
    func defaults() throws {
        #expect(VariantPlan.standard.widths == [320, 640, 1280, 1920])
        #expect(VariantPlan.standard.formats == [.webp, .avif])
        let plan = try VariantPlan(widths: [800, 200], formats: [.avif, .webp])
        #expect(plan.widths == [200, 800] && plan.preferredFormat == .webp)
        #expect(try VariantPlan(formats: [.avif]).preferredFormat == .avif)
    }

    static let unusable: [([Int], [ImageVariant.Format], String)] = [
        ([], [.webp], "at least one width"), ([320, 320], [.webp], "twice"), ([0], [.webp], "16…8192"),
        ([9000], [.webp], "16…8192"), (Array(100...108), [.webp], "at most 8"), ([320], [], "at least one format"),
        ([320], [.webp, .webp], "a format is listed twice"),
    ]

    @Test("unusable plans are refused with what is wrong", arguments: unusable)
    func refused(widths: [Int], formats: [ImageVariant.Format], message: String) {
        let error = #expect(throws: VariantPlan.PlanError.self) { try VariantPlan(widths: widths, formats: formats) }
        #expect(error?.description.contains(message) == true, "\(String(describing: error))")
    }
}

/// GIFs written by hand: a header with a 2-colour global table, `frames` images (each with a
/// graphic control extension, a local colour table on odd frames, two data sub-blocks), a trailer.
enum GIFSamples {
    static func animated(width: Int, height: Int, frames: Int, trailer: Bool = true) -> [UInt8] {
        var bytes = Array("GIF89a".utf8) + Samples.le16(width) + Samples.le16(height) + [0x80, 0, 0] + [0, 0, 0, 255, 255, 255]
        bytes += [0x21, 0xFF, 11] + Array("NETSCAPE2.0".utf8) + [3, 1, 0, 0, 0]  // application extension: loop forever
        for frame in 0..<frames {
            bytes += [0x21, 0xF9, 4, 0, 10, 0, 0, 0]
            let local: [UInt8] = frame % 2 == 1 ? [0x81] + [UInt8](repeating: 7, count: 12) : [0]
            bytes += [0x2C] + Samples.le16(0) + Samples.le16(0) + Samples.le16(width) + Samples.le16(height) + local
            bytes += [2, 3, 0x44, 0x01, 0x2C, 2, 0x21, 0x2C, 0]
        }
        return trailer ? bytes + [0x3B] : bytes
    }
}

@Suite("Animation frames")
struct AnimationFramesTests {
    @Test("GIF frames are counted, whole or in small pieces", arguments: [1, 2, 7, 300])
    func gif(frames: Int) {
        let bytes = GIFSamples.animated(width: 10, height: 10, frames: frames)
        var whole = AnimationFrames(format: .gif)
        whole.feed(bytes)
        #expect(whole.frames == frames && whole.finished)
        var pieces = AnimationFrames(format: .gif)
        for start in stride(from: 0, to: bytes.count, by: 5) { pieces.feed(bytes[start..<min(start + 5, bytes.count)]) }
        #expect(pieces.frames == frames && pieces.finished)
    }

    @Test("a truncated GIF counts what is there; garbage or a still image counts 1")
    func odd() {
        var truncated = AnimationFrames(format: .gif)
        truncated.feed(GIFSamples.animated(width: 4, height: 4, frames: 3, trailer: false).dropLast(4))
        #expect(truncated.frames == 3 && !truncated.finished)
        var garbage = AnimationFrames(format: .gif)
        garbage.feed(Array("not a gif at all".utf8))
        #expect(garbage.frames == 1 && garbage.finished)
        var png = AnimationFrames(format: .png)
        png.feed(Samples.png(width: 4, height: 4))
        #expect(png.frames == 1)
    }

    @Test("animated WebP frames are its ANMF chunks")
    func webp() {
        func chunk(_ fourcc: String, _ body: [UInt8]) -> [UInt8] {
            Array(fourcc.utf8) + [UInt8(body.count & 0xFF), UInt8(body.count >> 8 & 0xFF), 0, 0] + body + (body.count % 2 == 1 ? [0] : [])
        }
        let chunks = chunk("VP8X", [0x12, 0, 0, 0] + Samples.le24(99) + Samples.le24(99)) + chunk("ANIM", [0, 0, 0, 0, 0, 0])
            + chunk("ANMF", [UInt8](repeating: 1, count: 33)) + chunk("ANMF", [UInt8](repeating: 2, count: 40))
            + chunk("ANMF", [UInt8](repeating: 3, count: 17)) + chunk("EXIF", [1, 2, 3])
        let size = chunks.count + 4
        let bytes = Array("RIFF".utf8) + [UInt8(size & 0xFF), UInt8(size >> 8 & 0xFF), 0, 0] + Array("WEBP".utf8) + chunks
        var counter = AnimationFrames(format: .webp)
        for byte in bytes { counter.feed([byte]) }
        #expect(counter.frames == 3 && counter.finished)
    }
}
