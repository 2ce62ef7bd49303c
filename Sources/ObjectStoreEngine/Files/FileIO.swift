#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix

/// Thin POSIX wrappers that retry on `EINTR` and report failures as ``StoreError``.
///
/// Foundation's `FileHandle` and `FileManager` hide `fsync` of directories and
/// partial writes; the engine's crash safety rests on exactly those, so it uses
/// the system calls directly.
enum FileIO {
    /// The `InternalError` for a failed system call, naming the call and `errno`.
    static func failure(_ call: String, _ code: Int32 = errno) -> StoreError {
        StoreError(.internalError, "\(call) failed: \(String(cString: strerror(code)))")
    }

    /// Opens `path` with `flags`, creating it with `mode` when `O_CREAT` is set.
    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o644) throws(StoreError) -> Int32 {
        while true {
            let fd = systemOpen(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw failure("open") }
        }
    }

    /// Opens `path` for reading; `nil` when it does not exist.
    static func openForReadingIfExists(_ path: String) throws(StoreError) -> Int32? {
        while true {
            let fd = systemOpen(path, O_RDONLY | O_CLOEXEC, 0)
            if fd >= 0 { return fd }
            if errno == ENOENT { return nil }
            if errno != EINTR { throw failure("open") }
        }
    }

    /// Writes all of `bytes` to `fd`, looping over partial writes.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = write(fd, base, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            remaining -= written
            base += written
        }
    }

    /// Writes all of `bytes` to `fd` at `offset` (`pwrite`), looping over partial writes.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(StoreError) {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        var position = off_t(offset)
        while remaining > 0 {
            let written = pwrite(fd, base, remaining, position)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("pwrite")
            }
            remaining -= written
            base += written
            position += off_t(written)
        }
    }

    /// Reads up to `count` bytes at `offset` into `buffer`; fewer only at the end of the file.
    static func readAll(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64) throws(StoreError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        var done = 0
        while done < buffer.count {
            let got = pread(fd, base + done, buffer.count - done, off_t(offset) + off_t(done))
            if got < 0 {
                if errno == EINTR { continue }
                throw failure("pread")
            }
            if got == 0 { break }
            done += got
        }
        return done
    }

    /// Flushes `fd`'s data and metadata to stable storage.
    static func sync(_ fd: Int32) throws(StoreError) {
        while fsync(fd) != 0 {
            if errno != EINTR { throw failure("fsync") }
        }
    }

    /// Flushes a directory, so that entries created or renamed in it survive a crash.
    static func syncDirectory(_ path: String) throws(StoreError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try sync(fd)
    }

    /// The size of the file open as `fd`.
    static func size(_ fd: Int32) throws(StoreError) -> Int64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("fstat") }
        return Int64(info.st_size)
    }

    /// Renames `from` to `to` atomically (same file system).
    static func rename(_ from: String, _ to: String) throws(StoreError) {
        guard systemRename(from, to) == 0 else { throw failure("rename") }
    }

    /// Whether a file is at `path` (`stat` succeeds).
    static func exists(_ path: String) -> Bool {
        var info = stat()
        return path.withCString { stat($0, &info) } == 0
    }

    /// Removes a file; a missing file is not an error.
    static func removeIfExists(_ path: String) {
        _ = path.withCString { unlink($0) }
    }

    /// Creates a directory unless it exists; `true` if it was created.
    @discardableResult
    static func makeDirectory(_ path: String) throws(StoreError) -> Bool {
        if path.withCString({ mkdir($0, 0o755) }) == 0 { return true }
        if errno == EEXIST { return false }
        throw failure("mkdir")
    }

    /// Closes `fd`, ignoring errors (the descriptor is gone either way).
    static func close(_ fd: Int32) {
        _ = systemClose(fd)
    }

    /// Takes an exclusive advisory lock on `path` (created if needed), or fails at once if another holder has it.
    ///
    /// Returns the descriptor; closing it releases the lock.
    static func lockExclusively(_ path: String) throws(StoreError) -> Int32 {
        let fd = try open(path, O_RDWR | O_CREAT)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(fd)
            if code == EWOULDBLOCK {
                throw StoreError(.internalError, "The store's directory is in use by another storage engine.")
            }
            throw failure("flock", code)
        }
        return fd
    }
}

extension FileIO {
    /// Runs blocking file work (`open`, `pread`, `fsync`, `rename`, `unlink`) on NIO's
    /// thread pool, so that no thread of Swift's cooperative pool waits on the disk.
    ///
    /// - Throws: What `body` throws; `InternalError` if the thread pool is not running.
    static func offload<T: Sendable>(
        _ body: @escaping @Sendable () throws(StoreError) -> T
    ) async throws(StoreError) -> T {
        do {
            return try await NIOThreadPool.singleton.runIfActive { try body() }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError.internalError("Could not run file work on the I/O thread pool", error)
        }
    }

    /// Runs cleanup file work (a removal, a close) on NIO's thread pool; if the pool is
    /// not running, runs it here: cleanup must happen either way.
    static func offloadCleanup(_ body: @escaping @Sendable () -> Void) async {
        do {
            try await NIOThreadPool.singleton.runIfActive { body() }
        } catch {
            body()
        }
    }
}

// File-scope wrappers: inside `FileIO`, `open`, `rename` and `close` name its own methods.

private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    path.withCString { open($0, flags, mode) }
}

private func systemRename(_ from: String, _ to: String) -> Int32 {
    from.withCString { cFrom in to.withCString { cTo in rename(cFrom, cTo) } }
}

private func systemClose(_ fd: Int32) -> Int32 {
    close(fd)
}
