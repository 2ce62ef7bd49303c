import CVips
import Foundation
import NIOCore
import NIOPosix

/// libvips in this process: the shared library (`libvips.so.42`, Debian's libvips42) opened at run
/// time, so that Hoist builds without it and falls back to the `vips` command line where it is
/// missing. One image is one decode and a few resizes and encodes, with no process started, no
/// intermediate file written and no re-decoding.
///
/// Every call blocks its thread while libvips computes, so each runs on this library's own
/// `NIOThreadPool` (one thread per core), never on Swift's cooperative pool, and never on the
/// shared NIO pool that file I/O uses.
public final class VipsLibrary: Sendable {
    /// The library's version ("8.14.1").
    public let version: String
    let pool: NIOThreadPool

    private init(version: String) {
        self.version = version
        pool = NIOThreadPool(numberOfThreads: max(1, System.coreCount))
        pool.start()
    }

    /// The file dlopen is given: `HOIST_LIBVIPS`, or libvips' soname on this platform.
    static var libraryName: String {
        if let name = ProcessInfo.processInfo.environment["HOIST_LIBVIPS"], !name.isEmpty { return name }
        #if os(macOS)
        return "libvips.42.dylib"
        #else
        return "libvips.so.42"
        #endif
    }

    /// The library, loaded once per process; why not, when it cannot be.
    public static let shared: Result<VipsLibrary, Thumbnailer.Failure> = {
        var error: UnsafeMutablePointer<CChar>?
        // libvips' own worker threads per image: its default (the number of cores, or VIPS_CONCURRENCY).
        guard hoist_vips_load(libraryName, 0, &error) == 0, let version = hoist_vips_version() else {
            return .failure(Thumbnailer.Failure(description: take(error) ?? "libvips could not be loaded"))
        }
        return .success(VipsLibrary(version: String(cString: version)))
    }()

    /// A decoded image held by libvips, in memory.
    final class Image: @unchecked Sendable {
        // Computed images are read-only: libvips allows reading one from several threads.
        let pointer: UnsafeMutableRawPointer
        var width: Int { Int(hoist_vips_width(pointer)) }
        var height: Int { Int(hoist_vips_height(pointer)) }

        init(_ pointer: UnsafeMutableRawPointer) { self.pointer = pointer }
        deinit { hoist_vips_release(pointer) }
    }

    /// Decodes `path`, shrunk to fit `width`×`height` (never enlarged), upright, converted to sRGB
    /// when asked; a decode error (not only a missing file) fails; stopped after `timeLimit`.
    func thumbnail(file path: String, width: Int, height: Int, toSRGB: Bool, timeLimit: Duration) async throws -> Image {
        let seconds = Double(timeLimit.components.seconds) + Double(timeLimit.components.attoseconds) / 1e18
        return try await call { error in
            hoist_vips_thumbnail_file(path, Int32(clamping: width), Int32(clamping: height), 1, toSRGB ? 1 : 0, seconds, &error)
        }
    }

    /// `image` shrunk to fit `width`×`height`, never enlarged (it is upright already).
    func thumbnail(_ image: Image, width: Int, height: Int) async throws -> Image {
        try await call { error in
            hoist_vips_thumbnail_image(image.pointer, Int32(clamping: width), Int32(clamping: height), &error)
        }
    }

    /// Writes `image` to `path` with the saver's `options` ("Q=82,strip"), by the path's extension.
    func save(_ image: Image, to path: String, options: String) async throws {
        let target = "\(path)[\(options)]"
        try await pool.runIfActive {
            var error: UnsafeMutablePointer<CChar>?
            guard hoist_vips_save(image.pointer, target, &error) == 0 else {
                throw Thumbnailer.Failure(libvipsMessage: Self.take(error))
            }
        }
    }

    /// Whether libvips decodes every pixel of the file at `path`.
    func decodes(_ path: String) async -> Bool {
        (try? await pool.runIfActive {
            var error: UnsafeMutablePointer<CChar>?
            let status = hoist_vips_decodes(path, &error)
            _ = Self.take(error)
            return status == 0
        }) ?? false
    }

    private func call(_ body: @escaping @Sendable (inout UnsafeMutablePointer<CChar>?) -> UnsafeMutableRawPointer?) async throws -> Image {
        try await pool.runIfActive {
            var error: UnsafeMutablePointer<CChar>?
            guard let pointer = body(&error) else { throw Thumbnailer.Failure(libvipsMessage: Self.take(error)) }
            _ = Self.take(error)
            return Image(pointer)
        }
    }

    /// The text of an error the C side allocated, which is freed.
    static func take(_ text: UnsafeMutablePointer<CChar>?) -> String? {
        guard let text else { return nil }
        defer { hoist_vips_free(text) }
        // Whatever the bytes (a file name in a message may not be UTF-8): invalid ones are replaced.
        return String(decoding: UnsafeRawBufferPointer(start: text, count: strlen(text)), as: UTF8.self)
    }
}

extension Thumbnailer.Failure {
    /// A failure from libvips' error text: its last line, the loader's verdict (e.g. "vipspng: libpng
    /// read error"), as the command line's last line of standard error.
    init(libvipsMessage text: String?) {
        let lines = (text ?? "").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        self.init(description: lines.last.map { String($0.prefix(300)) } ?? "libvips failed")
    }
}
