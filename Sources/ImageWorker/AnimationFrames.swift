/// Counts the frames of a GIF or an animated WebP as its bytes arrive, without decoding, so the
/// pixel limit can count every frame (a small animation of many frames decodes to a lot).
///
/// GIF (GIF89a specification): after the header and the logical screen descriptor (and its
/// global colour table), blocks follow: extensions (`0x21`, a label, then data sub-blocks),
/// images (`0x2C`, a 9-byte descriptor, a local colour table, the LZW code size, then data
/// sub-blocks), up to the trailer (`0x3B`). Each image descriptor is a frame.
/// WebP (Google's container specification): each `ANMF` chunk is a frame.
///
/// ```swift
/// var counter = AnimationFrames(format: .gif)
/// for chunk in chunks { counter.feed(chunk) }
/// counter.frames  // 12
/// ```
public struct AnimationFrames: Sendable {
    /// Frames seen so far (1 at least for a still image once it is fed).
    public var frames: Int { max(counted, 1) }
    /// Whether the end of the image (the GIF trailer, the RIFF end) was reached, or the data
    /// stopped making sense (then counting stops; the decoder has the last word on such a file).
    public private(set) var finished = false

    private enum Step: Sendable {
        case gifHeader, blockIntroducer, extensionLabel, imageDescriptor, lzwCodeSize, subBlockSize
        case riffHeader, chunkHeader
    }

    private var counted = 0
    private var step: Step
    /// Bytes to pass over before the next step.
    private var skip = 0
    /// Bytes read towards the current step.
    private var buffer: [UInt8] = []
    /// WebP: bytes of the RIFF payload not yet read.
    private var riffRemaining = 0

    /// A counter for a file in `format` (only GIF and WebP have frames to count; others count 1).
    public init(format: ImageHeader.Format) {
        switch format {
        case .gif: step = .gifHeader
        case .webp: step = .riffHeader
        default:
            step = .gifHeader
            finished = true
        }
    }

    private var need: Int {
        switch step {
        case .gifHeader: 13
        case .imageDescriptor: 9
        case .riffHeader: 12
        case .chunkHeader: 8
        case .blockIntroducer, .extensionLabel, .lzwCodeSize, .subBlockSize: 1
        }
    }

    /// Reads the next bytes of the file.
    public mutating func feed(_ bytes: some Collection<UInt8>) {
        var index = bytes.startIndex
        while index != bytes.endIndex, !finished {
            if skip > 0 {
                let available = bytes.distance(from: index, to: bytes.endIndex)
                let passed = min(skip, available)
                skip -= passed
                if step == .chunkHeader { riffRemaining -= passed }
                index = bytes.index(index, offsetBy: passed)
                continue
            }
            buffer.append(bytes[index])
            index = bytes.index(after: index)
            if buffer.count == need {
                let read = buffer
                buffer.removeAll(keepingCapacity: true)
                advance(read)
            }
        }
    }

    private mutating func advance(_ b: [UInt8]) {
        switch step {
        case .gifHeader:
            guard b.starts(with: Array("GIF8".utf8)) else { finished = true; return }
            // Logical screen descriptor flags: a global colour table of 3 × 2^(n+1) bytes.
            if b[10] & 0x80 != 0 { skip = 3 << (Int(b[10] & 0x07) + 1) }
            step = .blockIntroducer
        case .blockIntroducer:
            switch b[0] {
            case 0x21: step = .extensionLabel
            case 0x2C: step = .imageDescriptor
            default: finished = true  // 0x3B, the trailer, or bytes that are not a block
            }
        case .extensionLabel:
            step = .subBlockSize
        case .imageDescriptor:
            counted += 1
            if b[8] & 0x80 != 0 { skip = 3 << (Int(b[8] & 0x07) + 1) }  // a local colour table
            step = .lzwCodeSize
        case .lzwCodeSize:
            step = .subBlockSize
        case .subBlockSize:
            if b[0] == 0 { step = .blockIntroducer } else { skip = Int(b[0]) }
        case .riffHeader:
            guard b.starts(with: Array("RIFF".utf8)), b[8..<12].elementsEqual("WEBP".utf8) else { finished = true; return }
            riffRemaining = (Int(b[4]) | Int(b[5]) << 8 | Int(b[6]) << 16 | Int(b[7]) << 24) - 4
            step = .chunkHeader
            if riffRemaining < 8 { finished = true }
        case .chunkHeader:
            riffRemaining -= 8
            if b[0..<4].elementsEqual("ANMF".utf8) { counted += 1 }
            let size = Int(b[4]) | Int(b[5]) << 8 | Int(b[6]) << 16 | Int(b[7]) << 24
            skip = size + (size & 1)
            if riffRemaining - skip < 8 { finished = true }
        }
    }
}
