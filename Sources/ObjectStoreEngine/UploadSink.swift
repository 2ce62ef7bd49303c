import Crypto
import Foundation
import Synchronization

/// A write in progress: bytes stream into a temporary file, hashed as they arrive.
///
/// Get one from ``StorageEngine/beginUpload(bucket:)``, ``write(_:)`` the body
/// into it chunk by chunk, then hand it to
/// ``StorageEngine/commit(_:bucket:key:metadata:condition:)`` or
/// ``StorageEngine/abort(_:)``. Memory does not grow with the object's size:
/// every chunk goes straight to the file and, through a bounded queue, to the
/// MD5 and SHA-256 hashers, which run in parallel with the writes.
/// A sink dropped without a commit removes its temporary file.
///
/// A sink is meant for one task at a time; its state sits behind a mutex, so a
/// misuse from two tasks is serialized rather than a data race.
///
/// ```swift
/// let sink = try engine.beginUpload(bucket: "photos")
/// for try await buffer in request.body {
///     try buffer.withUnsafeReadableBytes { try sink.write($0) }
/// }
/// let info = try engine.commit(sink, bucket: "photos", key: "a.jpg", metadata: metadata)
/// ```
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
        var descriptor: Int32?
        var size: Int64 = 0
        var phase = Phase.open
    }

    /// The store this sink writes into; a commit checks it.
    let layout: StoreLayout
    /// The blob the upload becomes when committed; also its temporary file's name.
    let blobName: String
    private let state: Mutex<State>
    /// MD5 and SHA-256, computed on background queues while the body streams.
    private let hashes: HashPipeline

    /// Creates the temporary file for a new upload.
    ///
    /// - Parameter computesSHA256: `false` skips the SHA-256 (its digest is then empty).
    init(layout: StoreLayout, computesSHA256: Bool = true) throws(StoreError) {
        let name = StoreLayout.newBlobName()
        let descriptor = try FileIO.open(layout.tmpPath(name), O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
        self.hashes = HashPipeline(computesSHA256: computesSHA256)
        self.layout = layout
        self.blobName = name
        self.state = Mutex(State(descriptor: descriptor))
    }

    deinit {
        state.withLock { state in
            guard state.phase != .finished else { return }
            if let descriptor = state.descriptor { FileIO.close(descriptor) }
            FileIO.removeIfExists(layout.tmpPath(blobName))
        }
    }

    /// The temporary file's path.
    var tmpPath: String { layout.tmpPath(blobName) }

    /// Appends `bytes` to the upload and feeds them to the hashers.
    ///
    /// - Throws: `InvalidArgument` once the sink was committed or aborted;
    ///   `InternalError` when the file system refuses the write (disk full).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        try state.withLock { (state: inout State) throws(StoreError) in
            guard state.phase == .open, let descriptor = state.descriptor else {
                throw StoreError(.invalidArgument, "The upload was already committed or aborted.")
            }
            guard !bytes.isEmpty else { return }
            try FileIO.writeAll(descriptor, bytes)
            hashes.submit(bytes)
            state.size += Int64(bytes.count)
        }
    }

    /// The number of bytes written so far.
    public var size: Int64 {
        state.withLock { $0.size }
    }

    /// The MD5 and SHA-256 of the bytes written so far.
    ///
    /// Finalizes copies of the hashers, so writing may go on afterwards.
    public func digests() -> UploadDigests {
        state.withLock { _ in hashes.digests() }
    }

    /// Closes the file after flushing it to stable storage, for a commit.
    ///
    /// From here on the commit owns the temporary file: it renames it into the
    /// blobs or removes it, then calls ``markFinished()``.
    ///
    /// - Returns: the size and digests of what was written.
    /// - Throws: `InvalidArgument` if the sink is not open (already committed, aborted,
    ///   or being committed), leaving it alone; `InternalError` if `fsync` fails,
    ///   after removing the temporary file.
    func seal() throws(StoreError) -> (size: Int64, digests: UploadDigests) {
        try state.withLock { (state: inout State) throws(StoreError) in
            guard state.phase == .open, let descriptor = state.descriptor else {
                throw StoreError(.invalidArgument, "The upload was already committed or aborted.")
            }
            state.descriptor = nil
            defer { FileIO.close(descriptor) }
            do throws(StoreError) {
                try FileIO.sync(descriptor)
            } catch {
                state.phase = .finished
                FileIO.removeIfExists(layout.tmpPath(blobName))
                throw error
            }
            state.phase = .sealed
            return (state.size, hashes.digests())
        }
    }

    /// Marks a sealed sink finished: its commit renamed or removed the file.
    func markFinished() {
        state.withLock { $0.phase = .finished }
    }

    /// Closes and removes the temporary file of an open sink (an abort).
    ///
    /// Does nothing once a commit has sealed the sink: that commit decides what
    /// becomes of the file. Safe to call repeatedly.
    func discard() {
        state.withLock { state in
            guard state.phase == .open else { return }
            if let descriptor = state.descriptor { FileIO.close(descriptor) }
            state.descriptor = nil
            state.phase = .finished
            FileIO.removeIfExists(layout.tmpPath(blobName))
        }
    }
}
