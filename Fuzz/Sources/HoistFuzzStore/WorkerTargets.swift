import HoistFuzzKit
import ImageWorker

/// The image worker's header reader.
enum WorkerTargets {
    /// First byte: whether the bytes are the whole file. A header found in a prefix must be
    /// the one found in the whole file, and a found size is positive.
    static let imageHeader = FuzzTarget("image-header") { bytes in
        guard let flag = bytes.first else { return }
        let file = Array(bytes.dropFirst())
        let inspection = ImageHeader.inspect(file, complete: flag & 1 == 1)
        if case .image(let header) = inspection {
            fuzzCheck(header.width > 0 && header.height > 0, "a non-positive image size")
            fuzzCheck(ImageHeader.inspect(file + [0, 0, 0, 0], complete: true) == inspection,
                      "bytes after a found header changed the header")
        }
    }

    /// The animation frame counter (GIF, WebP), fed in pieces whose sizes the first byte picks:
    /// the count must not depend on how the bytes arrive, and is at least 1.
    static let animationFrames = FuzzTarget("animation-frames") { bytes in
        var input = FuzzInput(bytes)
        let seed = input.byte()
        let rest = input.rest()
        for format in [ImageHeader.Format.gif, .webp] {
            var whole = AnimationFrames(format: format)
            whole.feed(rest)
            var pieces = AnimationFrames(format: format)
            for piece in HoistFuzzKit.pieces(of: rest, seed: seed, maximum: 64) where !pieces.finished { pieces.feed(piece) }
            fuzzCheck(whole.frames >= 1, "fewer than one frame")
            fuzzCheck(whole.frames == pieces.frames, "\(format) frames \(whole.frames) whole, \(pieces.frames) in pieces")
        }
    }

    /// The AVIF metadata reader the worker runs on every AVIF it makes.
    static let avifMetadata = FuzzTarget("avif-metadata") { bytes in
        _ = AVIFMetadata.itemTypes(bytes)
        _ = AVIFMetadata.hasMetadata(bytes)
    }
}
