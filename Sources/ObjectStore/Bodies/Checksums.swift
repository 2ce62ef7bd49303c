import Crypto
import Foundation

/// The additional checksums S3 accepts (`x-amz-checksum-crc32`, `-crc32c`,
/// `-sha1`, `-sha256`), computed as the body streams.
struct ChecksumAlgorithm: Sendable, Hashable {
    let name: String

    static let crc32 = ChecksumAlgorithm(name: "crc32")
    static let crc32c = ChecksumAlgorithm(name: "crc32c")
    static let sha1 = ChecksumAlgorithm(name: "sha1")
    static let sha256 = ChecksumAlgorithm(name: "sha256")
    static let all = [crc32, crc32c, sha1, sha256]

    /// The header that carries it.
    var header: String { "x-amz-checksum-\(name)" }

    init(name: String) { self.name = name }

    /// The algorithm of a header name such as `x-amz-checksum-crc32`, or of an SDK's algorithm name.
    init?(headerOrAlgorithm text: String) {
        let lower = text.lowercased()
        let name = lower.hasPrefix("x-amz-checksum-") ? String(lower.dropFirst("x-amz-checksum-".count)) : lower
        guard let match = Self.all.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}

/// A running checksum of one algorithm.
struct RunningChecksum {
    let algorithm: ChecksumAlgorithm
    private var crc: UInt32 = 0xFFFF_FFFF
    private var sha1 = Insecure.SHA1()
    private var sha256 = SHA256()

    init(_ algorithm: ChecksumAlgorithm) { self.algorithm = algorithm }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        switch algorithm {
        case .crc32: crc = CRCTable.update(crc, bytes, table: CRCTable.crc32)
        case .crc32c: crc = CRCTable.update(crc, bytes, table: CRCTable.crc32c)
        case .sha1: sha1.update(bufferPointer: bytes)
        default: sha256.update(bufferPointer: bytes)
        }
    }

    /// The checksum as S3 writes it: base64 of the big-endian value or digest.
    func base64() -> String {
        switch algorithm {
        case .crc32, .crc32c:
            let value = (crc ^ 0xFFFF_FFFF).bigEndian
            return withUnsafeBytes(of: value) { Data($0).base64EncodedString() }
        case .sha1: return Data(sha1.finalize()).base64EncodedString()
        default: return Data(sha256.finalize()).base64EncodedString()
        }
    }
}

/// Table-driven reflected CRC-32 (IEEE 802.3, 0xEDB88320) and CRC-32C (Castagnoli, 0x82F63B78).
enum CRCTable {
    static let crc32 = make(0xEDB8_8320)
    static let crc32c = make(0x82F6_3B78)

    static func make(_ polynomial: UInt32) -> [UInt32] {
        (0..<256).map { i -> UInt32 in
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ polynomial : c >> 1 }
            return c
        }
    }

    static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer, table: [UInt32]) -> UInt32 {
        var c = crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c
    }
}
