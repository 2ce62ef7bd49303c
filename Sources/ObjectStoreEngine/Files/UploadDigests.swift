import Foundation
import HoistSupport

/// The MD5 and SHA-256 of an upload's bytes, as ``UploadSink`` computed them while they arrived.
///
/// The HTTP layer compares them with `Content-MD5` and `x-amz-checksum-sha256`
/// (and the signed payload hash) before it commits.
public struct UploadDigests: Sendable, Hashable {
    /// The 16 bytes of the MD5.
    public let md5: [UInt8]
    /// The 32 bytes of the SHA-256; empty when the upload skipped it
    /// (``StorageEngine/beginPartUpload(bucket:computesSHA256:)``).
    public let sha256: [UInt8]

    /// Creates digests from their raw bytes.
    public init(md5: [UInt8], sha256: [UInt8]) {
        self.md5 = md5
        self.sha256 = sha256
    }

    /// The MD5 as lowercase hex: the object's ETag.
    public var md5Hex: String { Hex.encode(md5) }
    /// The SHA-256 as lowercase hex, as in `x-amz-content-sha256`.
    public var sha256Hex: String { Hex.encode(sha256) }
    /// The MD5 as base64, as in `Content-MD5`.
    public var md5Base64: String { Data(md5).base64EncodedString() }
    /// The SHA-256 as base64, as in `x-amz-checksum-sha256`.
    public var sha256Base64: String { Data(sha256).base64EncodedString() }
}
