/// What an image file's first bytes say it is: the real format by its magic
/// bytes, and the pixel size from its headers, without decoding any pixels.
public struct ImageHeader: Sendable, Equatable {
    /// Formats the worker recognises.
    public enum Format: String, Sendable, CaseIterable {
        case jpeg, png, gif, webp, avif
        /// HEIF with HEVC (an iPhone's photos), or another HEIF image that is not AVIF; declared
        /// as `image/heic` or `image/heif`.
        case heic

        /// The media type a file of this format should be declared as.
        public var contentType: String { "image/\(rawValue)" }

        /// The format of a declared media type, if the worker knows it.
        public init?(contentType: String) {
            let type = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            switch type {
            case "image/jpeg", "image/jpg", "image/pjpeg": self = .jpeg
            case "image/png": self = .png
            case "image/gif": self = .gif
            case "image/webp": self = .webp
            case "image/avif": self = .avif
            case "image/heic", "image/heif": self = .heic
            default: return nil
            }
        }
    }

    public var format: Format
    /// The stored pixel size.
    public var width: Int
    public var height: Int
    /// The EXIF orientation (1–8; 1 when the file has none): 5–8 are shown turned a quarter.
    public var orientation: Int
    /// Whether the file's EXIF holds a GPS position.
    public var hasLocation: Bool
    /// Whether the file embeds an ICC colour profile (JPEG `APP2 ICC_PROFILE`, PNG `iCCP`, WebP
    /// `ICCP`, AVIF `colr` of type `prof`/`rICC`): its pixels are in that profile's space
    /// (Display P3, Adobe RGB…), and the web variants are converted to sRGB.
    public var hasColourProfile: Bool

    public init(format: Format, width: Int, height: Int, orientation: Int = 1, hasLocation: Bool = false,
                hasColourProfile: Bool = false) {
        self.format = format
        self.width = width
        self.height = height
        self.orientation = orientation
        self.hasLocation = hasLocation
        self.hasColourProfile = hasColourProfile
    }

    /// The size as the image is shown, its orientation applied.
    public var displayWidth: Int { orientation >= 5 ? height : width }
    /// The height as the image is shown, its orientation applied.
    public var displayHeight: Int { orientation >= 5 ? width : height }

    /// The outcome of looking at a prefix of a file.
    public enum Inspection: Sendable, Equatable {
        /// Format and size found.
        case image(ImageHeader)
        /// The format is known but its size lies beyond the bytes given: read more (the whole file if `complete` was false).
        case needMoreBytes(Format)
        /// Not a format the worker recognises (or a broken header), with what was seen.
        case notAnImage(String)
    }

    /// Looks at the first bytes of a file.
    ///
    /// - Parameters:
    ///   - bytes: A prefix of the file.
    ///   - complete: Whether `bytes` is the whole file (then "read more" becomes "broken").
    public static func inspect(_ bytes: [UInt8], complete: Bool) -> Inspection {
        let format: Format
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            format = .jpeg
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            format = .png
        } else if bytes.starts(with: Array("GIF87a".utf8)) || bytes.starts(with: Array("GIF89a".utf8)) {
            format = .gif
        } else if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) {
            format = .webp
        } else if bytes.count >= 12, Array(bytes[4..<8]) == Array("ftyp".utf8), let kind = heifKind(bytes) {
            format = kind
        } else {
            return .notAnImage(describe(bytes))
        }
        let size: (Int, Int)?
        switch format {
        case .jpeg: size = jpegSize(bytes)
        case .png: size = pngSize(bytes)
        case .gif: size = bytes.count >= 10 ? (le16(bytes, 6), le16(bytes, 8)) : nil
        case .webp: size = webpSize(bytes)
        case .avif, .heic: size = avifSize(bytes)
        }
        guard let (width, height) = size else {
            return complete ? .notAnImage("a \(format.rawValue) file whose header is broken or truncated") : .needMoreBytes(format)
        }
        guard width > 0, height > 0 else { return .notAnImage("a \(format.rawValue) file with a zero pixel size") }
        let exif = format == .jpeg ? EXIFSummary.inJPEG(bytes) : format == .heic ? heifEXIF(bytes) : nil
        let profile: Bool
        switch format {
        case .jpeg: profile = jpegHasICC(bytes)
        case .png: profile = pngHasICC(bytes)
        case .webp: profile = bytes.count > 20 && String(decoding: bytes[12..<16], as: UTF8.self) == "VP8X" && bytes[20] & 0x20 != 0
        case .avif, .heic: profile = avifHasICC(bytes)
        case .gif: profile = false
        }
        // A HEIF image is turned by its `irot` property (the decoder applies it), never by EXIF.
        let orientation = format == .heic ? (heifQuarterTurn(bytes) ? 6 : 1) : exif?.orientation ?? 1
        return .image(ImageHeader(format: format, width: width, height: height, orientation: orientation,
                                  hasLocation: exif?.hasLocation ?? false, hasColourProfile: profile))
    }

    /// A few words on what the bytes look like, for a rejection reason.
    static func describe(_ bytes: [UInt8]) -> String {
        if bytes.isEmpty { return "an empty file" }
        let sample = bytes.prefix(512)
        let printable = sample.allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || (32..<127).contains($0) || $0 >= 0x80 }
        if printable { return "text, not an image" }
        if bytes.starts(with: Array("%PDF".utf8)) { return "a PDF document, not an image" }
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return "a ZIP archive, not an image" }
        return "data of no known image format"
    }

    // MARK: Formats

    static func be16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
    static func le16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 }
    static func le24(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 }
    static func be32(_ b: [UInt8], _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    static func pngSize(_ b: [UInt8]) -> (Int, Int)? {
        // The first chunk must be IHDR: length 13, then width and height, big-endian.
        guard b.count >= 24, Array(b[12..<16]) == Array("IHDR".utf8) else { return nil }
        return (be32(b, 16), be32(b, 20))
    }

    static func jpegSize(_ b: [UInt8]) -> (Int, Int)? {
        var i = 2
        while i + 1 < b.count {
            guard b[i] == 0xFF else { return nil }
            var marker = b[i + 1]
            // Fill bytes: any number of 0xFF before a marker.
            while marker == 0xFF, i + 2 < b.count { i += 1; marker = b[i + 1] }
            i += 2
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }
            if marker == 0xD9 || marker == 0xDA { return nil }  // end of image or start of scan before any frame header
            guard i + 1 < b.count else { return nil }
            let length = be16(b, i)
            guard length >= 2 else { return nil }
            let isFrameHeader = (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
            if isFrameHeader {
                guard i + 6 < b.count else { return nil }
                return (be16(b, i + 5), be16(b, i + 3))
            }
            i += length
        }
        return nil
    }

    /// Whether an `APP2` segment holding `ICC_PROFILE` comes before the first scan.
    static func jpegHasICC(_ b: [UInt8]) -> Bool {
        let signature = Array("ICC_PROFILE\0".utf8)
        var i = 2
        while i + 3 < b.count {
            guard b[i] == 0xFF else { return false }
            var marker = b[i + 1]
            while marker == 0xFF, i + 2 < b.count { i += 1; marker = b[i + 1] }
            i += 2
            if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { continue }
            if marker == 0xD9 || marker == 0xDA { return false }
            guard i + 1 < b.count else { return false }
            let length = be16(b, i)
            guard length >= 2 else { return false }
            if marker == 0xE2, length >= 2 + signature.count, i + 2 + signature.count <= b.count,
               Array(b[(i + 2)..<(i + 2 + signature.count)]) == signature {
                return true
            }
            i += length
        }
        return false
    }

    /// Whether an `iCCP` chunk comes before the image data.
    static func pngHasICC(_ b: [UInt8]) -> Bool {
        var i = 8
        while i + 8 <= b.count {
            let length = be32(b, i)
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            if type == "iCCP" { return true }
            if type == "IDAT" || type == "IEND" { return false }
            // length, type, data, CRC; a length past the bytes given ends the walk.
            guard length <= b.count else { return false }
            i += 12 + length
        }
        return false
    }

    static func webpSize(_ b: [UInt8]) -> (Int, Int)? {
        guard b.count >= 30 else { return nil }
        switch String(decoding: b[12..<16], as: UTF8.self) {
        case "VP8 ":
            // Frame tag (3 bytes), start code 9d 01 2a, then 14-bit width and height.
            guard b[23] == 0x9D, b[24] == 0x01, b[25] == 0x2A else { return nil }
            return (le16(b, 26) & 0x3FFF, le16(b, 28) & 0x3FFF)
        case "VP8L":
            guard b[20] == 0x2F else { return nil }
            let bits = Int(b[21]) | Int(b[22]) << 8 | Int(b[23]) << 16 | Int(b[24]) << 24
            return ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            return (le24(b, 24) + 1, le24(b, 27) + 1)
        default:
            return nil
        }
    }

    /// The brands of an ISO BMFF `ftyp` box: the major brand, then the compatible ones.
    static func brands(_ b: [UInt8]) -> [String] {
        let size = be32(b, 0)
        guard size >= 16 else { return [] }
        let end = min(size, b.count)
        var brands: [String] = []
        var i = 8
        while i + 4 <= end {
            brands.append(String(decoding: b[i..<i + 4], as: UTF8.self))
            i += i == 8 ? 8 : 4  // major brand, minor version, then compatible brands
        }
        return brands
    }

    /// AVIF for a file with an AV1 image brand; HEIC for one with an HEVC brand or only the
    /// generic HEIF ones (`mif1`, `msf1`); `nil` for any other ISO BMFF file (a video, …).
    static func heifKind(_ b: [UInt8]) -> Format? {
        let brands = brands(b)
        if brands.contains(where: { $0 == "avif" || $0 == "avis" }) { return .avif }
        let heif: Set = ["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"]
        if brands.contains(where: heif.contains) { return .heic }
        return nil
    }

    /// Whether a HEIF image's `irot` property turns it a quarter (90° or 270°): shown with width and height swapped.
    static func heifQuarterTurn(_ b: [UInt8]) -> Bool {
        var turned = false
        avifProperties(b) { type, start, end in
            guard type == "irot", end - start >= 1 else { return }
            if b[start] & 0x03 == 1 || b[start] & 0x03 == 3 { turned = true }
        }
        return turned
    }

    /// The EXIF of a HEIF file, found by the `Exif\0\0` header its Exif item starts with (after a
    /// 4-byte offset), within the bytes given; read for the GPS position only.
    static func heifEXIF(_ b: [UInt8]) -> EXIFSummary? {
        let marker: [UInt8] = Array("Exif".utf8) + [0, 0]
        var i = 0
        while i + marker.count + 8 <= b.count {
            guard let found = b[i...].firstIndex(of: marker[0]) else { return nil }
            guard found + marker.count + 8 <= b.count else { return nil }
            if Array(b[found..<(found + marker.count)]) == marker,
               let summary = EXIFSummary.parse(tiff: b[(found + marker.count)..<min(b.count, found + marker.count + 65_536)]) {
                return summary
            }
            i = found + 1
        }
        return nil
    }

    /// Calls `visit(type, start, end)` for each ISO BMFF box in `b[start..<end]` (`start`/`end`: its contents).
    static func boxes(_ b: [UInt8], _ start: Int, _ end: Int, _ visit: (String, Int, Int) -> Void) {
        var i = start
        while i + 8 <= end {
            var size = be32(b, i)
            var header = 8
            if size == 1 {
                guard i + 16 <= end else { return }
                size = be32(b, i + 12)  // 64-bit size; headers are small, the high half is 0
                header = 16
            } else if size == 0 {
                size = end - i
            }
            guard size >= header, i + size <= end else { return }
            visit(String(decoding: b[i + 4..<i + 8], as: UTF8.self), i + header, i + size)
            i += size
        }
    }

    /// Calls `visit(type, start, end)` for each property box in `meta/iprp/ipco`, of the file's
    /// first `meta` box only (a HEIF file has one; decoders read the first): a second one, or
    /// bytes appended after a complete file, cannot change what was found.
    static func avifProperties(_ b: [UInt8], _ visit: (String, Int, Int) -> Void) {
        var seenMeta = false
        boxes(b, 0, b.count) { type, start, end in
            guard type == "meta", !seenMeta else { return }
            seenMeta = true
            boxes(b, start + 4, end) { type, start, end in  // meta is a full box: skip version and flags
                guard type == "iprp" else { return }
                boxes(b, start, end) { type, start, end in
                    guard type == "ipco" else { return }
                    boxes(b, start, end, visit)
                }
            }
        }
    }

    /// The largest `ispe` (image spatial extents) property in `meta/iprp/ipco`.
    static func avifSize(_ b: [UInt8]) -> (Int, Int)? {
        var best: (Int, Int)?
        avifProperties(b) { type, start, end in
            guard type == "ispe", end - start >= 12 else { return }
            let size = (be32(b, start + 4), be32(b, start + 8))
            // Each side is below 2^32, so their product fits in a UInt64 (not always in an Int).
            func area(_ s: (Int, Int)) -> UInt64 { UInt64(s.0) * UInt64(s.1) }
            if best.map({ area($0) < area(size) }) ?? true { best = size }
        }
        return best
    }

    /// Whether a `colr` property carries an ICC profile (`prof` or `rICC`).
    static func avifHasICC(_ b: [UInt8]) -> Bool {
        var found = false
        avifProperties(b) { type, start, end in
            guard type == "colr", end - start >= 4 else { return }
            let kind = String(decoding: b[start..<(start + 4)], as: UTF8.self)
            if kind == "prof" || kind == "rICC" { found = true }
        }
        return found
    }
}
