/// The metadata items of an AVIF file (HEIF, ISO/IEC 23008-12): `Exif` items (camera, GPS
/// position) and `mime` items (XMP), found in `meta/iinf` without decoding anything.
///
/// libvips writes them unless asked to strip; the worker checks each AVIF it makes with
/// ``hasMetadata(_:)``, so a derived image never carries the original's EXIF.
public enum AVIFMetadata {
    /// The item types (`av01`, `Exif`, `mime`, …) listed in the file's `meta/iinf` box.
    public static func itemTypes(_ b: [UInt8]) -> [String] {
        var types: [String] = []
        ImageHeader.boxes(b, 0, b.count) { type, start, end in
            guard type == "meta", start + 4 <= end else { return }
            ImageHeader.boxes(b, start + 4, end) { type, start, end in  // meta is a full box: skip version and flags
                guard type == "iinf", start + 4 <= end else { return }
                // ItemInfoBox: version and flags, then a 16-bit (version 0) or 32-bit entry count.
                let first = start + 4 + (b[start] == 0 ? 2 : 4)
                guard first <= end else { return }
                ImageHeader.boxes(b, first, end) { type, start, end in
                    // ItemInfoEntry version 2 or 3: item_ID (16 or 32 bits), protection index (16), item_type.
                    guard type == "infe", start + 4 <= end, b[start] >= 2 else { return }
                    let typeAt = start + 4 + (b[start] == 2 ? 2 : 4) + 2
                    guard typeAt + 4 <= end else { return }
                    types.append(String(decoding: b[typeAt..<typeAt + 4], as: UTF8.self))
                }
            }
        }
        return types
    }

    /// Whether the file holds an `Exif` or `mime` (XMP) item.
    public static func hasMetadata(_ b: [UInt8]) -> Bool {
        itemTypes(b).contains { $0 == "Exif" || $0 == "mime" }
    }
}
