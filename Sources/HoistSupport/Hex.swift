/// Lowercase hexadecimal encoding and decoding, byte by byte.
///
/// `String(format:)` is slow on Linux, and signatures, digests and ETags are hex-encoded
/// on every request, so this is done by arithmetic on each nibble. The one copy for
/// every target of the package.
///
/// ```swift
/// Hex.encode([0xde, 0xad])          // "dead"
/// Hex.decodeLowercase("dead")       // [0xde, 0xad]
/// ```
package enum Hex {
    /// Appends the lowercase hex form of `bytes` to `buffer`.
    @inlinable
    package static func append<S: Sequence>(_ bytes: S, to buffer: inout [UInt8]) where S.Element == UInt8 {
        for byte in bytes {
            buffer.append(digit(byte >> 4))
            buffer.append(digit(byte & 0x0F))
        }
    }

    /// The lowercase hex digit of a value 0…15.
    @inlinable @inline(__always)
    package static func digit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 &+ v : 0x57 &+ v }

    /// Returns the lowercase hex form of `bytes`, two digits a byte.
    @inlinable
    package static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(Swift.max(bytes.underestimatedCount * 2, 32))
        append(bytes, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of one hex digit (either case), or `nil`.
    @inlinable
    package static func value(of digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return digit &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }

    /// Decodes lowercase hex (as SigV4 writes signatures and S3 writes ETags) into bytes,
    /// or `nil` when the text is not lowercase hex of an even length.
    package static func decodeLowercase<S: StringProtocol>(_ text: S) -> [UInt8]? {
        let utf8 = text.utf8
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var high: UInt8? = nil
        for c in utf8 {
            guard !(c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F")), let v = value(of: c) else { return nil }
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
