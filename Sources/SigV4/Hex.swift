import Crypto

/// Lowercase hexadecimal encoding and decoding through lookup tables.
///
/// `String(format:)` is slow on Linux; signatures are hex-encoded on every
/// request, so this file does it byte by byte from a table.
enum Hex {

    /// Appends the lowercase hex form of `bytes` to `buffer`.

    static func append<S: Sequence>(_ bytes: S, to buffer: inout [UInt8]) where S.Element == UInt8 {
        for byte in bytes {
            buffer.append(digit(byte >> 4))
            buffer.append(digit(byte & 0x0F))
        }
    }

    /// Appends the lowercase hex form of a SHA-256 digest (64 characters).
    static func append(_ digest: SHA256.Digest, to buffer: inout [UInt8]) {
        digest.withUnsafeBytes { raw in
            for byte in raw {
                buffer.append(digit(byte >> 4))
                buffer.append(digit(byte & 0x0F))
            }
        }
    }

    /// The lowercase hex digit of a value 0…15.
    @inline(__always)
    static func digit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 &+ v : 0x57 &+ v }

    /// Returns the lowercase hex form of `bytes`.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of one hex digit (either case), or `nil`.

    static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    /// Decodes lowercase hex (as SigV4 writes signatures) into bytes, or `nil`
    /// when the text is not lowercase hex of an even length.
    static func decodeLowercase<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let utf8 = text.utf8
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var high: UInt8? = nil
        for c in utf8 {
            guard (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f")),
                  let v = value(of: c) else { return nil }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        return out
    }
}

/// Compares two byte strings in time that depends only on their lengths.
///
/// Used for every signature comparison so that a forger learns nothing from
/// how long a rejection takes.

func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for i in 0..<a.count {
        difference |= a[i] ^ b[i]
    }
    return difference == 0
}
