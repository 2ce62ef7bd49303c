import Synchronization

/// An object's bytes, open for reading.
///
/// Blobs are immutable and the reader holds the file open, so it keeps
/// reading the same bytes when the object is overwritten or deleted meanwhile.
/// Closes its file on ``close()`` or when released.
///
/// ```swift
/// let (info, reader) = try engine.open(bucket: "photos", key: "a.jpg")
/// defer { reader.close() }
/// var offset: Int64 = 0
/// while offset < reader.size {
///     let chunk = try reader.read(offset: offset, count: 64 * 1024)
///     offset += Int64(chunk.count)
/// }
/// ```
public final class ObjectReader: Sendable {
    /// The object's size in bytes.
    public let size: Int64
    private let descriptor: Mutex<Int32?>

    /// Takes ownership of an open descriptor.
    init(descriptor: Int32, size: Int64) {
        self.size = size
        self.descriptor = Mutex(descriptor)
    }

    deinit {
        close()
    }

    /// Reads up to `count` bytes at `offset` (`pread`); fewer only at the end of the object.
    ///
    /// - Parameters:
    ///   - offset: Where to start, from 0; at or past ``size`` the result is empty.
    ///   - count: How many bytes at most.
    /// - Returns: The bytes read.
    /// - Throws: `InvalidArgument` for a negative offset or count, or after ``close()``;
    ///   `InternalError` if the file system fails.
    public func read(offset: Int64, count: Int) throws(StoreError) -> [UInt8] {
        guard offset >= 0, count >= 0 else {
            throw StoreError(.invalidArgument, "The offset and count of a read must not be negative.")
        }
        let wanted = Int(min(Int64(count), max(0, size - offset)))
        return try descriptor.withLock { (descriptor: inout Int32?) throws(StoreError) -> [UInt8] in
            guard let fd = descriptor else {
                throw StoreError(.invalidArgument, "The object reader is closed.")
            }
            guard wanted > 0 else { return [] }
            var failure: StoreError?
            let bytes = [UInt8](unsafeUninitializedCapacity: wanted) { buffer, initialized in
                do throws(StoreError) {
                    initialized = try FileIO.readAll(fd, into: UnsafeMutableRawBufferPointer(buffer), offset: offset)
                } catch {
                    failure = error
                    initialized = 0
                }
            }
            if let failure { throw failure }
            return bytes
        }
    }

    /// Closes the file; later reads fail. Safe to call more than once.
    public func close() {
        descriptor.withLock { descriptor in
            if let fd = descriptor { FileIO.close(fd) }
            descriptor = nil
        }
    }
}
