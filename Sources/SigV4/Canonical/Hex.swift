import Crypto
import HoistSupport

extension Hex {
    /// Appends the lowercase hex form of a SHA-256 digest (64 characters), without
    /// copying the digest out first.
    static func append(_ digest: SHA256.Digest, to buffer: inout [UInt8]) {
        digest.withUnsafeBytes { raw in
            for byte in raw {
                buffer.append(digit(byte >> 4))
                buffer.append(digit(byte & 0x0F))
            }
        }
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
