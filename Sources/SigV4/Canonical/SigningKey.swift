import Crypto
import HoistSupport

/// An HMAC-SHA256 key with its inner and outer hash states prepared once.
///
/// HMAC(k, m) = H((k ⊕ opad) ‖ H((k ⊕ ipad) ‖ m)) (RFC 2104). The two padded
/// key blocks are hashed once here; `SHA256` is a value type, so each message
/// starts from a copy of the prepared state. That saves most of an HMAC's
/// cost when one key signs many messages, as a SigV4 signing key does.
public struct PreparedHMAC: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    /// Prepares `key` (any length; keys over one block are hashed first).
    public init<K: Collection>(key: K) where K.Element == UInt8 {
        var block = [UInt8](repeating: 0, count: 64)
        if key.count > 64 {
            let digest = SHA256.hash(data: Array(key))
            for (i, b) in digest.enumerated() { block[i] = b }
        } else {
            for (i, b) in key.enumerated() { block[i] = b }
        }
        var inner = SHA256()
        var outer = SHA256()
        inner.update(data: block.map { $0 ^ 0x36 })
        outer.update(data: block.map { $0 ^ 0x5c })
        self.inner = inner
        self.outer = outer
    }

    /// The HMAC of `message`.

    public func authenticationCode(for message: UnsafeRawBufferPointer) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { authenticationCode(for: message, into: $0) }
        return out
    }

    /// The HMAC of `message`.
    public func authenticationCode(for message: [UInt8]) -> [UInt8] {
        message.withUnsafeBytes { authenticationCode(for: $0) }
    }

    /// Writes the 32-byte HMAC of `message` into `output`.
    public func authenticationCode(for message: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) {
        var h = inner
        h.update(bufferPointer: message)
        let innerDigest = h.finalize()
        var o = outer
        innerDigest.withUnsafeBytes { o.update(bufferPointer: $0) }
        let digest = o.finalize()
        digest.withUnsafeBytes { output.copyMemory(from: $0) }
    }
}

/// The SigV4 signing key for one (secret, date, region, service), ready to sign.
///
/// Derivation (SigV4 “Calculate the signature”, step 1):
/// `kDate = HMAC("AWS4" + secret, yyyymmdd)`, `kRegion = HMAC(kDate, region)`,
/// `kService = HMAC(kRegion, service)`, `kSigning = HMAC(kService, "aws4_request")`.
public struct SigningKey: Sendable {
    /// The derived 32-byte key.
    public let bytes: [UInt8]
    /// `bytes` prepared for repeated HMACs.
    public let hmac: PreparedHMAC

    /// Derives the signing key. Four HMACs: cache the result (see ``SigningKeyCache``).
    /// - Parameters:
    ///   - secretAccessKey: the secret access key.
    ///   - date: the scope date, `yyyymmdd`.
    ///   - region: the scope region, e.g. `us-east-1`.
    ///   - service: the scope service, e.g. `s3`.
    public init(secretAccessKey: String, date: String, region: String, service: String) {
        func mac(_ key: [UInt8], _ message: String) -> [UInt8] {
            Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
        }
        let kDate = mac(Array("AWS4\(secretAccessKey)".utf8), date)
        let kRegion = mac(kDate, region)
        let kService = mac(kRegion, service)
        let kSigning = mac(kService, "aws4_request")
        self.bytes = kSigning
        self.hmac = PreparedHMAC(key: kSigning)
    }

    /// The raw signature bytes of `stringToSign`.
    public func signature(of stringToSign: [UInt8]) -> [UInt8] {
        hmac.authenticationCode(for: stringToSign)
    }

    /// The hex signature of `stringToSign`.
    public func hexSignature(of stringToSign: String) -> String {
        Hex.encode(hmac.authenticationCode(for: Array(stringToSign.utf8)))
    }
}
