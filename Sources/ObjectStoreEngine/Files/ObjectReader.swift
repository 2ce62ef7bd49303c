import Synchronization

/// An object's bytes, open for reading.
///
/// Blobs are immutable and the reader holds the object's files open (one, or
/// one per segment of a completed multipart upload), so it keeps reading the
/// same bytes when the object is overwritten or deleted meanwhile. Closes its
/// files on ``close()`` or when released.
///
/// ```swift
/// let (info, reader) = try await engine.open(bucket: "photos", key: "a.jpg")
/// defer { reader.close() }
/// var offset: Int64 = 0
/// while offset < reader.size {
///     let chunk = try await reader.read(offset: offset, count: 64 * 1024)
///     offset += Int64(chunk.count)
/// }
/// ```
public final class ObjectReader: Sendable {
    /// The object's size in bytes.
    public let size: Int64
    /// Where each file's bytes start in the object: ascending, the first 0.
    private let starts: [Int64]
    /// One descriptor per file, in the object's order (`-1`: not open yet); `nil` once closed.
    private let descriptors: Mutex<Files?>
    /// Files opened as reads reach them (``init(paths:sizes:release:)``): their paths; `nil` when all were opened at once.
    private let paths: [String]?
    /// Called once, at ``close()``, by a reader that opens its files as it goes (unpins them).
    private let release: (@Sendable () -> Void)?
    /// The store's master key when the files are encrypted (``BlobKey``): reads decrypt the
    /// chunks they touch, and a chunk that fails its integrity check fails the read.
    private let master: MasterKey?

    /// The most files a reader that opens them as it goes keeps open at once.
    static let openFilesLimit = 8

    private struct Files {
        var descriptors: [Int32]
        /// Each encrypted file's data key, read from its header at its first read.
        var keys: [EncryptedFileReader?]
        /// The open ones, least recently used first (readers that open their files as they go).
        var recent: [Int] = []
    }

    /// Takes ownership of open descriptors: the object is their files' bytes, one after the other.
    ///
    /// - Parameters:
    ///   - files: The descriptors with their files' plaintext sizes, in order; at least one.
    ///   - master: The store's master key when the files are encrypted.
    init(files: [(descriptor: Int32, size: Int64)], master: MasterKey? = nil) {
        (size, starts) = Self.layout(files.map(\.size))
        descriptors = Mutex(Files(descriptors: files.map(\.descriptor), keys: Array(repeating: nil, count: files.count)))
        paths = nil
        release = nil
        self.master = master
    }

    /// A reader that opens each file when a read first reaches it, keeping at most
    /// ``openFilesLimit`` open; the files must stay in place until ``close()`` (the engine pins
    /// them), which calls `release`.
    ///
    /// - Parameters:
    ///   - paths: The files, in the object's order; at least one.
    ///   - sizes: Their (plaintext) sizes as the index records them; a file of another size is an
    ///     `InternalError` when reached.
    ///   - master: The store's master key when the files are encrypted.
    init(paths: [String], sizes: [Int64], master: MasterKey? = nil, release: @escaping @Sendable () -> Void) {
        (size, starts) = Self.layout(sizes)
        descriptors = Mutex(Files(descriptors: Array(repeating: -1, count: paths.count), keys: Array(repeating: nil, count: paths.count)))
        self.paths = paths
        self.release = release
        self.master = master
    }

    /// The size on disk of a file holding `plainSize` bytes of the object.
    static func fileSize(plainSize: Int64, encrypted: Bool) -> Int64 {
        encrypted ? BlobKey.fileSize(plainSize: plainSize) : plainSize
    }

    private static func layout(_ sizes: [Int64]) -> (size: Int64, starts: [Int64]) {
        var starts: [Int64] = []
        starts.reserveCapacity(sizes.count)
        var total: Int64 = 0
        for size in sizes {
            starts.append(total)
            total += size
        }
        return (total, starts)
    }

    deinit {
        close()
    }

    /// How many of its files the reader holds open now.
    var openFileCount: Int { descriptors.withLock { $0?.descriptors.filter { $0 >= 0 }.count ?? 0 } }

    /// How many files the object's bytes are in: its parts when it was completed from a multipart upload.
    public var segmentCount: Int { starts.count }

    /// Where segment `number` (from 1) lies in the object; `nil` past the last one.
    public func segmentRange(_ number: Int) -> Range<Int64>? {
        guard number >= 1, number <= starts.count else { return nil }
        let end = number < starts.count ? starts[number] : size
        return starts[number - 1]..<end
    }

    /// Reads up to `count` bytes at `offset` (`pread`, across files as needed) on NIO's
    /// thread pool; fewer only at the end of the object.
    ///
    /// - Parameters:
    ///   - offset: Where to start, from 0; at or past ``size`` the result is empty.
    ///   - count: How many bytes at most.
    /// - Returns: The bytes read.
    /// - Throws: `InvalidArgument` for a negative offset or count, or after ``close()``;
    ///   `InternalError` if the file system fails or a file is shorter than it was when opened.
    public func read(offset: Int64, count: Int) async throws(StoreError) -> [UInt8] {
        try await FileIO.offload { () throws(StoreError) in try self.readBlocking(offset: offset, count: count) }
    }

    /// ``read(offset:count:)`` on the calling thread: for the engine's own work already on the thread pool.
    ///
    /// - Parameters:
    ///   - offset: Where to start, from 0; at or past ``size`` the result is empty.
    ///   - count: How many bytes at most.
    /// - Returns: The bytes read.
    /// - Throws: `InvalidArgument` for a negative offset or count, or after ``close()``;
    ///   `InternalError` if the file system fails or a file is shorter than it was when opened.
    func readBlocking(offset: Int64, count: Int) throws(StoreError) -> [UInt8] {
        guard offset >= 0, count >= 0 else {
            throw StoreError(.invalidArgument, "The offset and count of a read must not be negative.")
        }
        let wanted = Int(min(Int64(count), max(0, size - offset)))
        return try descriptors.withLock { (files: inout Files?) throws(StoreError) -> [UInt8] in
            guard var open = files else {
                throw StoreError(.invalidArgument, "The object reader is closed.")
            }
            guard wanted > 0 else { return [] }
            defer { files = open }
            var failure: StoreError?
            let bytes = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
                do throws(StoreError) {
                    initialized = try fill(UnsafeMutableRawBufferPointer(buffer), from: offset, files: &open)
                } catch {
                    failure = error
                    initialized = 0
                }
            }
            if let failure { throw failure }
            return bytes
        }
    }

    /// Fills `buffer` with the object's bytes from `offset`, file after file; returns how many it read.
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: Int64, files: inout Files) throws(StoreError) -> Int {
        var index = file(containing: offset)
        var done = 0
        while done < buffer.count, index < files.descriptors.count {
            let position = offset + Int64(done)
            let end = index + 1 < starts.count ? starts[index + 1] : size
            let wanted = Int(min(Int64(buffer.count - done), end - position))
            if wanted > 0 {
                let descriptor = try self.descriptor(index, end: end, files: &files)
                let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + wanted)])
                let got: Int
                if let master {
                    if files.keys[index] == nil {
                        files.keys[index] = try EncryptedFileReader(descriptor: descriptor, plainSize: end - starts[index], master: master)
                    }
                    got = try files.keys[index]!.read(descriptor, into: slice, offset: position - starts[index])
                } else {
                    got = try FileIO.readAll(descriptor, into: slice, offset: position - starts[index])
                }
                guard got == wanted else {
                    throw StoreError(.internalError, "The object's data ended before the size the index records.")
                }
                done += got
            }
            index += 1
        }
        return done
    }

    /// File `index`'s descriptor, opening it (and closing the least recently used beyond
    /// ``openFilesLimit``) for a reader that opens its files as it goes.
    private func descriptor(_ index: Int, end: Int64, files: inout Files) throws(StoreError) -> Int32 {
        let open = files.descriptors[index]
        guard let paths else { return open }
        if open >= 0 {
            if let at = files.recent.firstIndex(of: index) { files.recent.remove(at: at) }
            files.recent.append(index)
            return open
        }
        guard let descriptor = try FileIO.openForReadingIfExists(paths[index]) else {
            throw StoreError(.internalError, "A file of the object is missing.")
        }
        guard (try? FileIO.size(descriptor)) == Self.fileSize(plainSize: end - starts[index], encrypted: master != nil) else {
            FileIO.close(descriptor)
            throw StoreError(.internalError, "The object's data does not have the size the index records.")
        }
        files.descriptors[index] = descriptor
        files.recent.append(index)
        if files.recent.count > Self.openFilesLimit {
            let oldest = files.recent.removeFirst()
            FileIO.close(files.descriptors[oldest])
            files.descriptors[oldest] = -1
        }
        return descriptor
    }

    /// The index of the last file that starts at or before `offset` (files of no bytes start where the next does).
    private func file(containing offset: Int64) -> Int {
        var low = 0, high = starts.count  // the first start past `offset` lies in low...high
        while low < high {
            let middle = (low + high) / 2
            if starts[middle] <= offset { low = middle + 1 } else { high = middle }
        }
        return max(0, low - 1)
    }

    /// Closes the files; later reads fail. Safe to call more than once.
    public func close() {
        let wasOpen = descriptors.withLock { files in
            guard let open = files else { return false }
            for fd in open.descriptors where fd >= 0 { FileIO.close(fd) }
            files = nil
            return true
        }
        if wasOpen { release?() }
    }
}
