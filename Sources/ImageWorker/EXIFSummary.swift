/// What an image's EXIF block says that the worker needs: how the image is meant to be
/// shown (the orientation, 1–8, TIFF tag 0x0112) and whether it names where it was taken
/// (a GPS IFD pointer, tag 0x8825). Read from untrusted bytes: every offset is checked,
/// nothing is trusted to be in range, and a broken block reads as "no EXIF".
public struct EXIFSummary: Sendable, Equatable {
    /// 1 (as stored) to 8; 5–8 swap width and height when shown.
    public var orientation: Int
    /// Whether the block holds a GPS position.
    public var hasLocation: Bool

    /// A summary: orientation 1 and no location by default.
    public init(orientation: Int = 1, hasLocation: Bool = false) {
        self.orientation = orientation
        self.hasLocation = hasLocation
    }

    /// The EXIF of a JPEG: its first APP1 segment that starts with `Exif\0\0`, before the
    /// first scan (JPEG File Interchange, EXIF 2.32 §4.5.4). `nil` when there is none.
    public static func inJPEG(_ b: [UInt8]) -> EXIFSummary? {
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 else { return nil }
        var i = 2
        while i + 3 < b.count {
            guard b[i] == 0xFF else { return nil }
            let marker = b[i + 1]
            if marker == 0xFF { i += 1; continue }  // fill byte
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
            if marker == 0xD9 || marker == 0xDA { return nil }  // end of image, start of scan
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2 else { return nil }
            let start = i + 4, end = i + 2 + length
            guard end <= b.count else { return nil }
            if marker == 0xE1, end - start > 6, b[start..<start + 6].elementsEqual([0x45, 0x78, 0x69, 0x66, 0, 0]) {
                return parse(tiff: b[(start + 6)..<end])
            }
            i = end
        }
        return nil
    }

    /// Reads a TIFF structure (the body of an EXIF block): its byte order, IFD0's
    /// orientation and GPS pointer (TIFF 6.0 §2). `nil` when the header is not TIFF.
    public static func parse(tiff: ArraySlice<UInt8>) -> EXIFSummary? {
        let t = Array(tiff)
        guard t.count >= 8 else { return nil }
        let little: Bool
        switch (t[0], t[1]) {
        case (0x49, 0x49): little = true   // "II"
        case (0x4D, 0x4D): little = false  // "MM"
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= t.count else { return nil }
            return little ? Int(t[at]) | Int(t[at + 1]) << 8 : Int(t[at]) << 8 | Int(t[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard at >= 0, at + 4 <= t.count else { return nil }
            let bytes = (Int(t[at]), Int(t[at + 1]), Int(t[at + 2]), Int(t[at + 3]))
            return little ? bytes.0 | bytes.1 << 8 | bytes.2 << 16 | bytes.3 << 24
                          : bytes.0 << 24 | bytes.1 << 16 | bytes.2 << 8 | bytes.3
        }
        guard u16(2) == 42, let ifd0 = u32(4), let count = u16(ifd0) else { return nil }
        var summary = EXIFSummary()
        for n in 0..<min(count, 1024) {
            let entry = ifd0 + 2 + n * 12
            guard let tag = u16(entry), let type = u16(entry + 2) else { break }
            switch tag {
            case 0x0112 where type == 3:  // SHORT, value in the entry itself
                if let value = u16(entry + 8), (1...8).contains(value) { summary.orientation = value }
            case 0x8825:
                if let offset = u32(entry + 8), offset > 0, offset < t.count { summary.hasLocation = true }
            default:
                break
            }
        }
        return summary
    }
}

/// Removes metadata from a WebP file: the `EXIF` and `XMP ` chunks go, the `VP8X` header's
/// flags for them are cleared, the RIFF size is rewritten; image data, alpha, animation
/// and the colour profile (`ICCP`) stay (Google's WebP container specification).
///
/// libvips 8.14 (Debian 12's) writes the source's EXIF, GPS position included, into a
/// thumbnail saved as WebP even when asked to strip it; this filter is what guarantees
/// that derived images carry none.
public enum WebPMetadata {
    /// The file without `EXIF`/`XMP ` chunks, or `nil` when `bytes` is not a well-formed WebP.
    public static func removingMetadata(_ bytes: [UInt8]) -> [UInt8]? {
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WEBP".utf8) else { return nil }
        let declared = Int(bytes[4]) | Int(bytes[5]) << 8 | Int(bytes[6]) << 16 | Int(bytes[7]) << 24
        guard declared + 8 <= bytes.count, declared >= 4 else { return nil }
        var out: [UInt8] = Array(bytes[0..<12])
        out.reserveCapacity(bytes.count)
        var i = 12
        let end = declared + 8
        while i < end {
            guard i + 8 <= end else { return nil }
            let fourcc = Array(bytes[i..<i + 4])
            let size = Int(bytes[i + 4]) | Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]) << 16 | Int(bytes[i + 7]) << 24
            let padded = size + (size & 1)
            guard size >= 0, i + 8 + size <= end else { return nil }
            let next = min(i + 8 + padded, end)
            if fourcc.elementsEqual("EXIF".utf8) || fourcc.elementsEqual("XMP ".utf8) {
                i = next
                continue
            }
            var chunk = Array(bytes[i..<next])
            if fourcc.elementsEqual("VP8X".utf8), chunk.count > 8 {
                chunk[8] &= ~UInt8(0x08 | 0x04)  // the EXIF and XMP flags
            }
            out += chunk
            if chunk.count & 1 == 1 { out.append(0) }
            i = next
        }
        let riffSize = out.count - 8
        out[4] = UInt8(riffSize & 0xFF)
        out[5] = UInt8(riffSize >> 8 & 0xFF)
        out[6] = UInt8(riffSize >> 16 & 0xFF)
        out[7] = UInt8(riffSize >> 24 & 0xFF)
        return out
    }

    /// Whether a WebP file holds an `EXIF` or `XMP ` chunk.
    public static func hasMetadata(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 12 else { return false }
        var i = 12
        while i + 8 <= bytes.count {
            let fourcc = bytes[i..<i + 4]
            if fourcc.elementsEqual("EXIF".utf8) || fourcc.elementsEqual("XMP ".utf8) { return true }
            let size = Int(bytes[i + 4]) | Int(bytes[i + 5]) << 8 | Int(bytes[i + 6]) << 16 | Int(bytes[i + 7]) << 24
            i += 8 + size + (size & 1)
        }
        return false
    }
}
