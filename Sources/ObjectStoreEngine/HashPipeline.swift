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
    /// Whether SHA-256 is computed; without it ``digests()`` gives an empty SHA-256.
    let computesSHA256: Bool
    // Small writes are gathered into blocks of `blockSize` bytes before they are queued, so
    // the per-block dispatch cost is paid once per 256 KiB, not once per network read.
    // Touched only by the (single) writer, under the sink's lock.
    private var block: [UInt8] = []

    /// How many blocks may wait to be hashed (at most 8 × 256 KiB of memory).
    static let maximumPending = 8
    /// The size of the blocks handed to the hashers.
    static let blockSize = 256 * 1024

    /// - Parameter computesSHA256: `false` skips SHA-256 (a part whose client promised no SHA-256).
    init(computesSHA256: Bool = true) {
        slots = DispatchSemaphore(value: Self.maximumPending)
        self.computesSHA256 = computesSHA256
    }

    /// Gathers `bytes`, queueing full blocks for both hashers; blocks while
    /// ``maximumPending`` blocks are waiting.
    func submit(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if block.isEmpty && bytes.count >= Self.blockSize {
            dispatch([UInt8](bytes))
            return
        }
        if block.capacity < Self.blockSize { block.reserveCapacity(Self.blockSize) }
        block.append(contentsOf: bytes)
        if block.count >= Self.blockSize {
            dispatch(block)
            block = []
        }
    }

    /// Queues what was gathered so far.
    private func flush() {
        guard !block.isEmpty else { return }
        dispatch(block)
        block = []
    }

    private func dispatch(_ chunk: [UInt8]) {
        // One slot per chunk, released when the slower of the two hashers is done with it.
        slots.wait()
        let group = DispatchGroup()
        md5Queue.async(group: group) { [self] in
            chunk.withUnsafeBytes { md5.update(bufferPointer: $0) }
        }
        if computesSHA256 {
            sha256Queue.async(group: group) { [self] in
                chunk.withUnsafeBytes { sha256.update(bufferPointer: $0) }
            }
        }
        group.notify(queue: md5Queue) { [slots] in slots.signal() }
    }

    /// Waits for every submitted chunk and returns the digests so far
    /// (copies of the hashers are finalized, so submitting may go on).
    func digests() -> UploadDigests {
        flush()
        let md5Digest = md5Queue.sync { Array(md5.finalize()) }
        let shaDigest = computesSHA256 ? sha256Queue.sync { Array(sha256.finalize()) } : []
        return UploadDigests(md5: md5Digest, sha256: shaDigest)
    }
}
