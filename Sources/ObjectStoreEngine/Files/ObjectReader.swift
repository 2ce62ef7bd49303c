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
    /// One descriptor per file, in the object's order; `nil` once closed.
    private let descriptors: Mutex<[Int32]?>

    /// Takes ownership of open descriptors: the object is their files' bytes, one after the other.
    ///
    /// - Parameter files: The descriptors with their files' sizes, in order; at least one.
    init(files: [(descriptor: Int32, size: Int64)]) {
        var starts: [Int64] = []
        starts.reserveCapacity(files.count)
        var total: Int64 = 0
        for file in files {
            starts.append(total)
            total += file.size
        }
        self.size = total
        self.starts = starts
        self.descriptors = Mutex(files.map(\.descriptor))
    }

    deinit {
        close()
    }

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
        return try descriptors.withLock { (descriptors: inout [Int32]?) throws(StoreError) -> [UInt8] in
            guard let descriptors else {
                throw StoreError(.invalidArgument, "The object reader is closed.")
            }
            guard wanted > 0 else { return [] }
            var failure: StoreError?
            let bytes = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
                do throws(StoreError) {
                    initialized = try fill(UnsafeMutableRawBufferPointer(buffer), from: offset, descriptors: descriptors)
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
    private func fill(_ buffer: UnsafeMutableRawBufferPointer, from offset: Int64, descriptors: [Int32]) throws(StoreError) -> Int {
        var index = file(containing: offset)
        var done = 0
        while done < buffer.count, index < descriptors.count {
            let position = offset + Int64(done)
            let end = index + 1 < starts.count ? starts[index + 1] : size
            let wanted = Int(min(Int64(buffer.count - done), end - position))
            if wanted > 0 {
                let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + wanted)])
                let got = try FileIO.readAll(descriptors[index], into: slice, offset: position - starts[index])
                guard got == wanted else {
                    throw StoreError(.internalError, "The object's data ended before the size the index records.")
                }
                done += got
            }
            index += 1
        }
        return done
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
        descriptors.withLock { descriptors in
            for fd in descriptors ?? [] { FileIO.close(fd) }
            descriptors = nil
        }
    }
}
