import Crypto
import Dispatch
import NIOPosix
import Synchronization

/// Writes an upload's bytes to its file and hashes them with MD5 and SHA-256,
/// block by block, off Swift's cooperative thread pool.
///
/// Each block of ``blockSize`` bytes is copied once and shared by three
/// consumers running in parallel with receiving the next bytes: a `pwrite(2)`
/// at the block's offset on NIO's thread pool, and the two hashers on their own
/// serial queues (so the digests see the blocks in order). At most
/// ``maximumPending`` blocks are in flight: a writer that gets ahead suspends in
/// ``acquireSlot()`` (an async wait, no parked thread), so memory stays bounded
/// whatever the object's size.
///
/// A failed write is kept and thrown by the next ``acquireSlot()`` or by
/// ``finish()``, which waits for every block: nothing is acknowledged before.
final class BlockPipeline: @unchecked Sendable {
    // The hashers are touched only on their own serial queue, and read after
    // `finish()` has seen every block done (through `state`'s lock): that is
    // what makes this type Sendable.
    private var md5 = Insecure.MD5()
    private var sha256 = SHA256()
    private let md5Queue = DispatchQueue(label: "hoist.upload.md5")
    private let sha256Queue = DispatchQueue(label: "hoist.upload.sha256")
    private let file: OpenFile
    private let threadPool: NIOThreadPool

    private struct State {
        /// Blocks submitted whose three consumers are not all done.
        var pending = 0
        /// Writers waiting for a slot, in arrival order.
        var slotWaiters: [CheckedContinuation<Void, Never>] = []
        /// Callers of ``finish()`` waiting for `pending` to reach 0.
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        /// The first failed write.
        var failure: StoreError?
    }
    private let state = Mutex(State())

    /// Whether SHA-256 is computed; without it the digests have an empty SHA-256.
    let computesSHA256: Bool
    /// The data key when the file is encrypted (``BlobKey``): blocks are sealed, on the thread
    /// pool, before they are written; the hashers see the plaintext.
    let cipher: BlobKey?

    /// How many blocks may be in flight (at most 8 × 256 KiB of memory).
    static let maximumPending = 8
    /// The size of the blocks written and hashed.
    static let blockSize = 256 * 1024

    /// - Parameters:
    ///   - file: The upload's temporary file; the pipeline keeps it open while blocks are in flight.
    ///   - computesSHA256: `false` skips SHA-256 (a part whose client promised no SHA-256).
    ///   - cipher: The file's data key, when it is encrypted (its header already written).
    ///   - threadPool: Where the `pwrite`s run.
    init(file: OpenFile, computesSHA256: Bool = true, cipher: BlobKey? = nil, threadPool: NIOThreadPool = .singleton) {
        self.file = file
        self.computesSHA256 = computesSHA256
        self.cipher = cipher
        self.threadPool = threadPool
    }

    /// Waits (suspending, not blocking) until fewer than ``maximumPending`` blocks are in flight, and takes a slot.
    ///
    /// - Throws: The first failed write so far (then no slot is taken).
    func acquireSlot() async throws(StoreError) {
        try checkFailure()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state -> Bool in
                guard state.pending < Self.maximumPending else {
                    state.slotWaiters.append(continuation)
                    return false
                }
                state.pending += 1
                return true
            }
            if granted { continuation.resume() }
        }
    }

    /// Gives back a slot taken by ``acquireSlot()`` without submitting a block.
    func releaseSlot() {
        finishBlock(failure: nil)
    }

    /// Queues `block`, the file's bytes at `offset`, for writing and hashing, using the slot taken by ``acquireSlot()``.
    ///
    /// Returns at once. Call in the bytes' order: the hashers take blocks in submission order.
    ///
    /// - Parameter isLast: For an encrypted file, the object's last block (see ``BlobKey/seal(_:at:isLast:)``).
    func submit(_ block: [UInt8], at offset: Int64, isLast: Bool = false) {
        let group = DispatchGroup()
        let failure = Mutex<StoreError?>(nil)
        md5Queue.async(group: group) { [self] in
            block.withUnsafeBytes { md5.update(bufferPointer: $0) }
        }
        if computesSHA256 {
            sha256Queue.async(group: group) { [self] in
                block.withUnsafeBytes { sha256.update(bufferPointer: $0) }
            }
        }
        group.enter()
        let file = file, cipher = cipher
        threadPool.submit { workState in
            defer { group.leave() }
            guard case .active = workState else {
                failure.withLock { $0 = StoreError(.internalError, "The I/O thread pool is not running.") }
                return
            }
            let written = block.withUnsafeBytes { bytes in
                Result { () throws(StoreError) in
                    if let cipher {
                        let sealed = try cipher.seal(bytes, at: offset, isLast: isLast)
                        try sealed.bytes.withUnsafeBytes { raw in Result { () throws(StoreError) in try file.write(raw, at: sealed.fileOffset) } }.get()
                    } else {
                        try file.write(bytes, at: offset)
                    }
                }
            }
            if case .failure(let error) = written {
                failure.withLock { $0 = error }
            }
        }
        group.notify(queue: md5Queue) { [self] in
            finishBlock(failure: failure.withLock { $0 })
        }
    }

    /// Marks one block done: frees its slot for the next waiter, or wakes ``finish()`` callers when none is left.
    private func finishBlock(failure: StoreError?) {
        let (next, idle) = state.withLock { state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            if state.failure == nil, let failure { state.failure = failure }
            if !state.slotWaiters.isEmpty {
                // The slot passes straight to the next writer: `pending` stays.
                return (state.slotWaiters.removeFirst(), [])
            }
            state.pending -= 1
            guard state.pending == 0 else { return (nil, []) }
            defer { state.idleWaiters = [] }
            return (nil, state.idleWaiters)
        }
        next?.resume()
        for waiter in idle { waiter.resume() }
    }

    private func checkFailure() throws(StoreError) {
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Waits (suspending) until every submitted block is written and hashed.
    ///
    /// - Throws: The first failed write.
    func finish() async throws(StoreError) {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                guard state.pending == 0 else {
                    state.idleWaiters.append(continuation)
                    return false
                }
                return true
            }
            if idle { continuation.resume() }
        }
        try checkFailure()
    }

    /// The digests of every block submitted; call after ``finish()``.
    ///
    /// Finalizes copies of the hashers, so submitting may go on.
    func digests() -> UploadDigests {
        // `finish()` saw every block done under `state`'s lock, after the hashers' last update.
        state.withLock { _ in
            UploadDigests(md5: Array(md5.finalize()), sha256: computesSHA256 ? Array(sha256.finalize()) : [])
        }
    }
}

/// An open file descriptor, closed when the last user lets go of it.
///
/// The upload's blocks in flight on the thread pool hold it, so its descriptor
/// cannot be closed (and reused by another file) under a `pwrite`.
final class OpenFile: Sendable {
    let descriptor: Int32

    init(_ descriptor: Int32) {
        self.descriptor = descriptor
    }

    deinit {
        FileIO.close(descriptor)
    }

    /// Writes all of `bytes` at `offset` (`pwrite`, looping over partial writes).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StoreError) {
        try FileIO.writeAll(descriptor, bytes, at: offset)
    }
}
