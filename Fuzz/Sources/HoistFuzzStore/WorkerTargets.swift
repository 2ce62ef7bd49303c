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
}
