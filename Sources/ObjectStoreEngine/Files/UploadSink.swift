import Crypto
import Foundation
import Synchronization

/// A write in progress: bytes stream into a temporary file, hashed as they arrive.
///
/// Get one from ``StorageEngine/beginUpload(bucket:)``, feed it the body chunk by
/// chunk, then hand it to ``StorageEngine/commit(_:bucket:key:metadata:condition:eventName:)``
/// or ``StorageEngine/abort(_:)``. Memory does not grow with the object's size:
/// bytes are gathered into blocks of 256 KiB, and each block goes, through a
/// bounded queue, to the file (a `pwrite` on NIO's thread pool) and to the MD5
/// and SHA-256 hashers, all in parallel with receiving the next bytes. No step
/// blocks a thread of Swift's cooperative pool: a writer that gets ahead of the
/// disk suspends. A sink dropped without a commit removes its temporary file.
///
/// Feed it with ``write(_:)``, or, from inside a synchronous closure over a
/// buffer, with ``append(_:)`` followed by ``drain()``:
///
/// ```swift
/// let sink = try await engine.beginUpload(bucket: "photos")
/// for try await buffer in request.body {
///     try buffer.withUnsafeReadableBytes { try sink.append($0) }
///     try await sink.drain()
/// }
/// let info = try await engine.commit(sink, bucket: "photos", key: "a.jpg", metadata: metadata)
/// ```
///
/// A sink is meant for one task at a time; its state sits behind a mutex, so a
/// misuse from two tasks cannot corrupt the file or the digests.
public final class UploadSink: Sendable {
    /// Where the sink stands.
    enum Phase: Sendable {
        /// Accepting writes; the temporary file is open.
        case open
        /// Closed and flushed by a commit in progress; the file will be renamed or removed.
        case sealed
        /// Committed, aborted or failed: nothing left to clean up.
        case finished
    }

    struct State {
        /// Bytes appended and not yet handed to the pipeline (less than a block after ``drain()``).
        var block: [UInt8] = []
        /// Bytes handed to the pipeline: the file offset of the next block.
        var submitted: Int64 = 0
        var phase = Phase.open
        /// An encrypted upload's last (possibly empty) block was submitted: it takes no more bytes.
        var tailSubmitted = false
    }

    /// The store this sink writes into; a commit checks it.
    let layout: StoreLayout
    /// The blob the upload becomes when committed; also its temporary file's name.
    let blobName: String
    private let state: Mutex<State>
    /// The temporary file, held open by the sink and by the blocks in flight.
    private let file: OpenFile
    /// Writes and hashes the blocks off the cooperative pool.
    private let pipeline: BlockPipeline

    /// Whether the file is encrypted at rest (SSE-S3): see ``BlobKey``.
    public var isEncrypted: Bool { pipeline.cipher != nil }

    /// Creates the temporary file for a new upload (a blocking `open`: call it on the I/O thread pool).
    ///
    /// - Parameters:
    ///   - computesSHA256: `false` skips the SHA-256 (its digest is then empty).
    ///   - encryptedWith: The store's master key, to encrypt the file with a new data key
    ///     (its header is written here); `nil` for a plain file.
    init(layout: StoreLayout, computesSHA256: Bool = true, encryptedWith master: MasterKey? = nil) throws(StoreError) {
        let name = StoreLayout.newBlobName()
        let path = layout.tmpPath(name)
        let descriptor = try FileIO.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        let file = OpenFile(descriptor)
        var cipher: BlobKey?
        if let master {
            let key = BlobKey.generate()
            do throws(StoreError) {
                let header = try key.header(sealedBy: master)
                try header.withUnsafeBytes { bytes in Result { () throws(StoreError) in try file.write(bytes, at: 0) } }.get()
            } catch {
                FileIO.removeIfExists(path)
                throw error
            }
            cipher = key
        }
        self.file = file
        self.pipeline = BlockPipeline(file: file, computesSHA256: computesSHA256, cipher: cipher)
        self.layout = layout
        self.blobName = name
        self.state = Mutex(State())
    }

    deinit {
        state.withLock { state in
            guard state.phase != .finished else { return }
            // A dropped sink: rare, and `deinit` cannot wait; the unlink is one short system call.
            FileIO.removeIfExists(layout.tmpPath(blobName))
        }
    }

    /// The temporary file's path.
    var tmpPath: String { layout.tmpPath(blobName) }

    /// Appends `bytes` to the upload, in memory only (no I/O): follow with ``drain()``.
    ///
    /// - Throws: `InvalidArgument` once the sink was committed or aborted.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        try state.withLock { (state: inout State) throws(StoreError) in
            guard state.phase == .open else {
                throw StoreError(.invalidArgument, "The upload was already committed or aborted.")
            }
            guard !state.tailSubmitted else {
                throw StoreError(.invalidArgument, "An encrypted upload takes no more bytes once its digests were read.")
            }
            if state.block.capacity < BlockPipeline.blockSize {
                state.block.reserveCapacity(max(BlockPipeline.blockSize, state.block.count + bytes.count))
            }
            state.block.append(contentsOf: bytes)
        }
    }

    /// Hands every full block of what was appended to the file and the hashers,
    /// suspending while too many blocks are in flight.
    ///
    /// - Throws: `InvalidArgument` once the sink was committed or aborted;
    ///   `InternalError` when an earlier block's write failed (disk full).
    public func drain() async throws(StoreError) {
        try await submitBlocks(all: false)
    }

    /// Appends `bytes` to the upload and drains full blocks: ``append(_:)`` then ``drain()``.
    ///
    /// - Throws: As ``append(_:)`` and ``drain()``.
    public func write(_ bytes: [UInt8]) async throws(StoreError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(StoreError) in try append(raw) } }.get()
        try await drain()
    }

    /// Submits the appended bytes block by block; with `all`, the last partial block too (for an
    /// encrypted file, once: the last block, even an empty one, seals the file's final chunk).
    private func submitBlocks(all: Bool) async throws(StoreError) {
        let encrypted = isEncrypted
        while true {
            try await pipeline.acquireSlot()
            let taken = state.withLock { state -> (block: [UInt8], offset: Int64)? in
                guard state.phase == .open || all else { return nil }
                guard !state.tailSubmitted else { return nil }
                let count = state.block.count
                guard count >= BlockPipeline.blockSize || (all && (count > 0 || encrypted)) else { return nil }
                let isLast = encrypted && all && count <= BlockPipeline.blockSize
                if isLast { state.tailSubmitted = true }
                let block: [UInt8]
                if count <= BlockPipeline.blockSize {
                    block = state.block
                    state.block = []
                } else {
                    block = Array(state.block[..<BlockPipeline.blockSize])
                    state.block.removeFirst(BlockPipeline.blockSize)
                }
                let offset = state.submitted
                state.submitted += Int64(block.count)
                // Submitted under the lock, so the hashers see blocks in file order.
                pipeline.submit(block, at: offset, isLast: isLast)
                return (block, offset)
            }
            guard taken != nil else {
                pipeline.releaseSlot()
                let isOpen = state.withLock { $0.phase == .open }
                if !isOpen && !all {
                    throw StoreError(.invalidArgument, "The upload was already committed or aborted.")
                }
                return
            }
        }
    }

    /// The number of bytes written so far.
    public var size: Int64 {
        state.withLock { $0.submitted + Int64($0.block.count) }
    }

    /// The MD5 and SHA-256 of the bytes written so far.
    ///
    /// Writes out what was appended and waits for it (suspending), then finalizes
    /// copies of the hashers: writing may go on afterwards, except to an encrypted file (whose
    /// final chunk this seals).
    ///
    /// - Throws: `InternalError` when a write failed.
    public func digests() async throws(StoreError) -> UploadDigests {
        try await submitBlocks(all: true)
        try await pipeline.finish()
        return pipeline.digests()
    }

    /// Writes out what is left, waits for every block, and flushes the file to
    /// stable storage (on the thread pool), for a commit.
    ///
    /// From here on the commit owns the temporary file: it renames it into the
    /// blobs or removes it, then calls ``markFinished()``.
    ///
    /// - Returns: the size and digests of what was written.
    /// - Throws: `InvalidArgument` if the sink is not open (already committed, aborted,
    ///   or being committed), leaving it alone; `InternalError` if a write or `fsync` fails,
    ///   after removing the temporary file.
    func seal() async throws(StoreError) -> (size: Int64, digests: UploadDigests) {
        try state.withLock { (state: inout State) throws(StoreError) in
            guard state.phase == .open else {
                throw StoreError(.invalidArgument, "The upload was already committed or aborted.")
            }
            state.phase = .sealed
        }
        do throws(StoreError) {
            try await submitBlocks(all: true)
            try await pipeline.finish()
            let file = file
            try await FileIO.offload { () throws(StoreError) in try FileIO.sync(file.descriptor) }
        } catch {
            state.withLock { $0.phase = .finished }
            let path = tmpPath
            await FileIO.offloadCleanup { FileIO.removeIfExists(path) }
            throw error
        }
        let size = state.withLock { $0.submitted }
        return (size, pipeline.digests())
    }

    /// Marks a sealed sink finished: its commit renamed or removed the file.
    func markFinished() {
        state.withLock { $0.phase = .finished }
    }

    /// Marks an open sink finished and tells whether its temporary file should be
    /// removed (an abort): `false` once a commit has sealed it (that commit decides).
    func discard() -> Bool {
        state.withLock { state in
            guard state.phase == .open else { return false }
            state.phase = .finished
            state.block = []
            return true
        }
    }

    /// Closes and removes the temporary file of an open sink (an abort), after any block in flight.
    ///
    /// Does nothing once a commit has sealed the sink. Safe to call repeatedly.
    func discardAndRemove() async {
        guard discard() else { return }
        try? await pipeline.finish()
        let path = tmpPath
        await FileIO.offloadCleanup { FileIO.removeIfExists(path) }
    }
}
