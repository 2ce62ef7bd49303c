import Foundation
import NIOCore
import _NIOFileSystem

/// Makes the derived images with libvips' `vipsthumbnail`, when it is installed.
public struct Thumbnailer: Sendable {
    /// One derived image: its name (`thumbnail`, `web`) and the box it fits in.
    public struct Variant: Sendable, Equatable {
        public var name: String
        public var maxSide: Int

        public init(name: String, maxSide: Int) {
            self.name = name
            self.maxSide = maxSide
        }
    }

    /// The `vipsthumbnail` executable.
    public let executable: String
    public var variants: [Variant]
    /// How long one `vipsthumbnail` run may take before it is stopped.
    public var timeLimit: Duration = .seconds(120)

    /// The derived images' file extension and media type (WebP keeps transparency and is small).
    public static let fileExtension = "webp"
    public static let contentType = "image/webp"

    public init(executable: String, variants: [Variant] = [.init(name: "thumbnail", maxSide: 320), .init(name: "web", maxSide: 1600)]) {
        self.executable = executable
        self.variants = variants
    }

    /// `vipsthumbnail` from `HOIST_VIPSTHUMBNAIL` or the `PATH`, or `nil` when it is not installed.
    public static func find(environment: [String: String] = ProcessInfo.processInfo.environment) -> Thumbnailer? {
        if let path = environment["HOIST_VIPSTHUMBNAIL"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? Thumbnailer(executable: path) : nil
        }
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/vipsthumbnail"
            if FileManager.default.isExecutableFile(atPath: path) { return Thumbnailer(executable: path) }
        }
        return nil
    }

    /// `vips` beside `vipsthumbnail` (the same package): its `thumbnail` can fail on decode errors.
    var vips: String? {
        let path = (executable as NSString).deletingLastPathComponent + "/vips"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// A failure of `vipsthumbnail` on an input: the image cannot be decoded.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes each variant of `input` into `directory`, never enlarging, and refuses a file whose
    /// pixels do not decode cleanly (a truncated or corrupt file whose header looks right).
    ///
    /// With `vips` beside `vipsthumbnail` (the same package), the largest variant is made from the
    /// input with `--fail-on error`, and each smaller one from the previous result: one full decode.
    /// - Returns: Variant name → file path.
    /// - Throws: ``Failure`` with the decoder's message when it cannot read the image.
    /// - Parameter toSRGB: The input embeds a colour profile (``ImageHeader/hasColourProfile``): its
    ///   pixels are converted from that profile to sRGB, the space browsers assume for an image
    ///   without one (the variants carry none). Not asked for an untagged image, which is sRGB
    ///   already: a conversion there would only shift its colours.
    public func makeVariants(of input: String, in directory: String, toSRGB: Bool = false) async throws -> [String: String] {
        let log = "\(directory)/vips-errors.txt"
        var outputs: [String: String] = [:]
        var source = input
        let convert = toSRGB ? ["--export-profile", "srgb"] : []
        for variant in variants.sorted(by: { $0.maxSide > $1.maxSide }) {
            let output = "\(directory)/\(variant.name).\(Self.fileExtension)"
            let side = String(variant.maxSide)
            if let vips {
                // The first variant comes from the input (converted); the others from it, already sRGB.
                try await run(vips, ["thumbnail", source, "\(output)[Q=82,strip]", side, "--height", side, "--size", "down",
                                     "--fail-on", "error"] + (source == input ? convert : []), errors: log)
                source = output
            } else {
                try await run(executable, [input, "--size", "\(side)x\(side)>", "-o", "\(output)[Q=82,strip]"] + convert, errors: log)
            }
            guard FileManager.default.fileExists(atPath: output) else {
                throw Failure(description: "libvips wrote no \(variant.name) image")
            }
            try await Self.removeMetadata(output)
            outputs[variant.name] = output
        }
        return outputs
    }

    /// Runs a libvips tool; its messages go to the file at `errors` (a pipe could fill and stall it).
    /// Rewrites a derived WebP without its EXIF and XMP chunks (``WebPMetadata``): a derived
    /// image never carries the original's GPS position, camera or serial number, whatever
    /// libvips kept. Through NIO's file system, off the cooperative pool.
    static func removeMetadata(_ path: String) async throws {
        let bytes = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { file in
            try await file.readToEnd(maximumSizeAllowed: .mebibytes(256))
        }
        guard let clean = WebPMetadata.removingMetadata(Array(buffer: bytes)) else {
            throw Failure(description: "libvips wrote a WebP file that is not well-formed")
        }
        guard clean.count != bytes.readableBytes else { return }
        try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)) { file in
            _ = try await file.write(contentsOf: clean, toAbsoluteOffset: 0)
        }
    }

    private func run(_ tool: String, _ arguments: [String], errors: String) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        FileManager.default.createFile(atPath: errors, contents: nil)
        let errorFile = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        defer { try? errorFile.close() }
        process.standardError = errorFile
        process.standardOutput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            // A file that keeps the decoder busy too long is not an image we want.
            let limit = timeLimit
            Task {
                try? await Task.sleep(for: limit)
                if process.isRunning { process.terminate() }
            }
        }
        let name = (tool as NSString).lastPathComponent
        if process.terminationReason == .uncaughtSignal {
            throw Failure(description: "\(name) did not finish within \(timeLimit)")
        }
        guard status == 0 else {
            let text = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            // The last line is the loader's verdict (e.g. "vipspng: libpng read error"); warnings come before it.
            let last = lines.last.map { String($0.prefix(300)) } ?? "exit status \(status)"
            throw Failure(description: last)
        }
    }
}
