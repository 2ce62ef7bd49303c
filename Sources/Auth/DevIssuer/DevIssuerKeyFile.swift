import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The dev issuer's private-key file: created owner-only and atomically, loaded with its mode checked.
enum DevIssuerKeyFile {
    /// Reads `file`, or creates it from `makeContents()` if it does not exist.
    ///
    /// Creation writes a temporary file opened with `O_CREAT | O_EXCL` and mode 0600, then
    /// `link(2)`s it to `file`, which fails if another process got there first; the loser
    /// reads the winner's key. On load, group and other permission bits are removed.
    ///
    /// - Returns: The file's contents.
    static func loadOrCreate(_ file: URL, makeContents: () throws -> Data) throws(DevIssuerError) -> Data {
        if let existing = try load(file) { return existing }
        let directory = file.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw DevIssuerError(.keyFileUnwritable, "Cannot create \(directory.path): \(error)")
        }
        let contents: Data
        do {
            contents = try makeContents()
        } catch {
            throw DevIssuerError(.keyFileUnwritable, "Cannot generate the dev issuer key: \(error)")
        }
        let temporary = directory.appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString).tmp")
        try writeOwnerOnly(contents, to: temporary)
        defer { unlink(temporary.path) }
        if link(temporary.path, file.path) != 0 {
            let error = errno
            guard error == EEXIST, let existing = try load(file) else {
                throw DevIssuerError(.keyFileUnwritable, "Cannot create \(file.path): \(String(cString: strerror(error)))")
            }
            return existing
        }
        return contents
    }

    /// The file's contents, or `nil` if it does not exist.
    private static func load(_ file: URL) throws(DevIssuerError) -> Data? {
        var info = stat()
        guard stat(file.path, &info) == 0 else {
            let error = errno
            if error == ENOENT { return nil }
            throw DevIssuerError(.keyFileUnreadable, "Cannot stat \(file.path): \(String(cString: strerror(error)))")
        }
        if info.st_mode & 0o077 != 0, chmod(file.path, 0o600) != 0 {
            throw DevIssuerError(.keyFileUnreadable, "\(file.path) is readable by others and its mode cannot be set to 0600.")
        }
        do {
            return try Data(contentsOf: file)
        } catch {
            throw DevIssuerError(.keyFileUnreadable, "Cannot read \(file.path): \(error)")
        }
    }

    private static func writeOwnerOnly(_ contents: Data, to file: URL) throws(DevIssuerError) {
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw DevIssuerError(.keyFileUnwritable, "Cannot create \(file.path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var failure: Int32 = 0
        contents.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
            if fsync(descriptor) != 0 { failure = errno }
        }
        if failure != 0 {
            unlink(file.path)
            throw DevIssuerError(.keyFileUnwritable, "Cannot write \(file.path): \(String(cString: strerror(failure)))")
        }
    }
}
