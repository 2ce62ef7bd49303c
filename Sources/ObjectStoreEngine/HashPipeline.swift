import Crypto
import Dispatch

/// Hashes an upload's bytes with MD5 and SHA-256 on two background queues,
/// so both digests are computed in parallel with receiving and writing.
///
/// On a two-core machine one thread receiving and writing and one hashing
/// stream a large PUT about twice as fast as doing all three in turn. Each
/// submitted chunk is copied once and shared by both queues. At most
/// ``maximumPending`` chunks wait: a writer that gets ahead blocks, so memory
/// stays bounded whatever the object's size.
final class HashPipeline: @unchecked Sendable {
    // The hashers are touched only on their own serial queue (and read after
    // `drain()` has waited for it), which is what makes this type Sendable.
    private var md5 = Insecure.MD5()
    private var sha256 = SHA256()
    private let md5Queue = DispatchQueue(label: "hoist.upload.md5")
    private let sha256Queue = DispatchQueue(label: "hoist.upload.sha256")
    private let slots: DispatchSemaphore

    /// How many chunks may wait to be hashed.
    static let maximumPending = 32

    init() {
        slots = DispatchSemaphore(value: Self.maximumPending)
    }

    /// Queues `bytes` for both hashers; blocks while ``maximumPending`` chunks are waiting.
    func submit(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        let chunk = [UInt8](bytes)
        // One slot per chunk, released when the slower of the two hashers is done with it.
        slots.wait()
        let group = DispatchGroup()
        md5Queue.async(group: group) { [self] in
            chunk.withUnsafeBytes { md5.update(bufferPointer: $0) }
        }
        sha256Queue.async(group: group) { [self] in
            chunk.withUnsafeBytes { sha256.update(bufferPointer: $0) }
        }
        group.notify(queue: md5Queue) { [slots] in slots.signal() }
    }

    /// Waits for every submitted chunk and returns the digests so far
    /// (copies of the hashers are finalized, so submitting may go on).
    func digests() -> UploadDigests {
        let md5Digest = md5Queue.sync { Array(md5.finalize()) }
        let shaDigest = sha256Queue.sync { Array(sha256.finalize()) }
        return UploadDigests(md5: md5Digest, sha256: shaDigest)
    }
}
