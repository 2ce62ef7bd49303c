/// Object keys as S3 writes them in event notifications: form-URL-encoded.
///
/// Letters, digits, `-`, `_`, `.`, `*` and `/` stay as they are, a space becomes
/// `+`, every other UTF-8 byte becomes `%XX`. So `photos/red flower (1).jpg`
/// arrives as `photos/red+flower+%281%29.jpg`. The store encodes with
/// ``encode(_:)`` and the worker decodes with ``decode(_:)``: one rule on both sides.
public enum S3EventKey {
    /// The key as it appears in an event's `s3.object.key`.
    public static func encode(_ key: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(key.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "*"), UInt8(ascii: "/"):
                out.append(byte)
            case UInt8(ascii: " "):
                out.append(UInt8(ascii: "+"))
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The key an event's `s3.object.key` names: `+` is a space, `%XX` a byte.
    ///
    /// - Returns: `nil` for a malformed escape or bytes that are not UTF-8.
    public static func decode(_ encoded: String) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(encoded.utf8.count)
        var bytes = encoded.utf8.makeIterator()
        while let byte = bytes.next() {
            switch byte {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard let high = bytes.next().flatMap(hexValue), let low = bytes.next().flatMap(hexValue) else { return nil }
                out.append(high << 4 | low)
            default:
                out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
