import Foundation
import NIOCore
import _NIOFileSystem
import Uploads

/// Makes the derived images with libvips: in process (``VipsLibrary``) when the library loads,
/// else with its command-line tools (`vips` and `vipsthumbnail`, libvips-tools): the responsive
/// variants of a ``VariantPlan`` and a tiny placeholder.
///
/// `HOIST_VIPS` chooses: `library` (in process, several times faster), `commands` (a process per
/// step: a decoder that crashes takes only that process down, at the cost of starting processes),
/// or `auto`, the default (the library, else the commands).
public struct Thumbnailer: Sendable {
    /// The `vipsthumbnail` executable, when installed (the command line's path, and the test tools').
    public let executable: String?
    /// libvips in process; `nil` runs the command-line tools.
    public let library: VipsLibrary?
    /// How long one libvips run (a process, or an in-process decode) may take before it is stopped.
    public var timeLimit: Duration = .seconds(120)

    /// WebP encoder options: quality 82, metadata stripped (see ``WebPMetadata`` for what libvips keeps anyway).
    static let webpOptions = "Q=82,strip"
    /// AVIF encoder options: AV1 at quality 55, 8 bits, effort 2 of 9 (effort 4, libvips' default,
    /// took about 2.5 times as long for a 1920-pixel image for 30 % fewer bytes), metadata stripped.
    static let avifOptions = "Q=55,effort=2,bitdepth=8,strip"
    /// The placeholder's box and options: at most 32 pixels on the long side, low quality.
    static let placeholderSide = 32
    static let placeholderOptions = "Q=40,strip"
    /// The longest placeholder data URL kept (a larger one is left out).
    public static let placeholderLimit = 1024
    /// A height no image reaches: a width-only resize.
    static let unboundedHeight = 10_000_000

    public init(executable: String?, library: VipsLibrary? = nil) {
        self.executable = executable
        self.library = library
    }

    /// How this thumbnailer runs libvips, for logs and test names: "libvips 8.14.1 in process" or "vips commands".
    public var engine: String {
        library.map { "libvips \($0.version) in process" } ?? "vips commands"
    }

    /// The thumbnailer `HOIST_VIPS` asks for (see the type's notes), or `nil` when libvips is
    /// neither loadable nor installed as commands (or not the way `HOIST_VIPS` asks).
    public static func find(environment: [String: String] = ProcessInfo.processInfo.environment) -> Thumbnailer? {
        let executable = findExecutable(environment: environment)
        switch environment["HOIST_VIPS"]?.lowercased() ?? "auto" {
        case "commands": return commands(executable)
        case "library": return inProcess(executable)
        default: return inProcess(executable) ?? commands(executable)
        }
    }

    /// Every way libvips can run here, the library first: what the tests run each case with.
    public static func engines(environment: [String: String] = ProcessInfo.processInfo.environment) -> [Thumbnailer] {
        let executable = findExecutable(environment: environment)
        return [inProcess(executable), commands(executable)].compactMap { $0 }
    }

    /// libvips in process, when `libvips.so.42` loads (`executable` kept for the test tools).
    private static func inProcess(_ executable: String?) -> Thumbnailer? {
        (try? VipsLibrary.shared.get()).map { Thumbnailer(executable: executable, library: $0) }
    }

    /// The `vips` commands, when installed.
    private static func commands(_ executable: String?) -> Thumbnailer? {
        executable.map { Thumbnailer(executable: $0) }
    }

    /// `vipsthumbnail` from `HOIST_VIPSTHUMBNAIL` or the `PATH`.
    static func findExecutable(environment: [String: String]) -> String? {
        if let path = environment["HOIST_VIPSTHUMBNAIL"], !path.isEmpty {
            return FileManager.default.isExecutableFile(atPath: path) ? path : nil
        }
        for directory in (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/vipsthumbnail"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// `vips` beside `vipsthumbnail` (the same package): its `thumbnail` can fail on decode errors.
    public var vips: String? {
        guard let executable else { return nil }
        let path = (executable as NSString).deletingLastPathComponent + "/vips"
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// A 16×16 grey HEIC (HEVC in HEIF, 495 bytes) made with libvips and libheif: decoding it tells
    /// whether this machine's libvips reads HEIC (libheif with an HEVC decoder).
    static let heicProbe = "AAAAHGZ0eXBoZWljAAAAAG1pZjFoZWljbWlhZgAAAa1tZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAAAA5waXRtAAAAAAACAAAAEGlkYXQAAAAAABAAEAAAADhpbG9jAQAAAERAAAIAAQAAAAAAAAHRAAEAAAAAAAAAHgACAAEAAAAAAAAAAQAAAAAAAAAIAAAAOGlpbmYAAAAAAAIAAAAVaW5mZQIAAAEAAQAAaHZjMQAAAAAVaW5mZQIAAAAAAgAAZ3JpZAAAAADYaXBycAAAALZpcGNvAAAAdmh2Y0MBA3AAAAAAAAAAAAAe8AD8/fj4AAAPAyAAAQAYQAEMAf//A3AAAAMAkAAAAwAAAwAeugJAIQABACpCAQEDcAAAAwCQAAADAAADAB6gIIEFluqumubgQEDAgAAAAwCAAAADAIQiAAEABkQBwXPBiQAAABRpc3BlAAAAAAAAAEAAAABAAAAAFGlzcGUAAAAAAAAAEAAAABAAAAAQcGl4aQAAAAADCAgIAAAAGmlwbWEAAAAAAAAAAgABAoECAAICA4QAAAAaaXJlZgAAAAAAAAAOZGltZwACAAEAAQAAACZtZGF0AAAAGigBrxkjscDushWeQoCnjogRIJn9QqKOAgN4"

    /// Whether libvips decodes HEIC/HEIF here: it reads ``heicProbe`` (`vips avg`, on a temporary file).
    public func decodesHEIF() async -> Bool {
        guard library != nil || vips != nil, let probe = Data(base64Encoded: Self.heicProbe) else { return false }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-heif-probe-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try await FileSystem.shared.createDirectory(at: FilePath(directory), withIntermediateDirectories: true)
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(directory + "/probe.heic"), options: .newFile(replaceExisting: true)) {
                _ = try await $0.write(contentsOf: Array(probe), toAbsoluteOffset: 0)
            }
            if let library { return await library.decodes(directory + "/probe.heic") }
            guard let vips else { return false }
            try await run(vips, ["avg", directory + "/probe.heic"], errors: directory + "/errors")
            return true
        } catch {
            return false
        }
    }

    /// A failure of libvips on an input: the image cannot be decoded (or an output is unusable).
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// One file written by ``makeVariants(of:in:plan:displayWidth:toSRGB:)``.
    public struct Output: Sendable, Equatable {
        /// The planned width (the file and object name: `w<width>.<ext>`); the image is narrower
        /// when the input is narrower than the plan's smallest width.
        public var plannedWidth: Int
        /// Its pixel size, as read back from the file.
        public var width: Int
        public var height: Int
        public var format: ImageVariant.Format
        /// Where it is.
        public var path: String
    }

    /// What ``makeVariants(of:in:plan:displayWidth:toSRGB:)`` made.
    public struct Made: Sendable, Equatable {
        /// The variants, narrowest first, in the plan's format order for each width.
        public var variants: [Output]
        /// The placeholder as a `data:image/webp;base64,…` URL (`nil` when over ``placeholderLimit``).
        public var placeholder: String?
    }

    /// Writes the variants of `input` the plan gives an image `displayWidth` pixels wide into
    /// `directory`, never enlarging, and refuses a file whose pixels do not decode cleanly (a
    /// truncated or corrupt file whose header looks right). An animation gives its first frame.
    ///
    /// With `vips` beside `vipsthumbnail` (the same package), the input is decoded once, with
    /// `--fail-on error`, into a lossless intermediate (libvips' own `.v`) at the largest width;
    /// each smaller width is resized from the previous intermediate, and each format encoded from
    /// its width's intermediate: one full decode, and no lossy copy made from another.
    /// Every output is stripped of metadata: WebP through ``WebPMetadata``; an AVIF that still
    /// held an `Exif` or XMP item (``AVIFMetadata``) would be a ``Failure``.
    /// - Parameter toSRGB: The input embeds a colour profile (``ImageHeader/hasColourProfile``): its
    ///   pixels are converted from that profile to sRGB, the space browsers assume for an image
    ///   without one (the variants carry none). Not asked for an untagged image, which is sRGB
    ///   already: a conversion there would only shift its colours.
    /// - Throws: ``Failure`` with the decoder's message when it cannot read the image.
    public func makeVariants(of input: String, in directory: String, plan: VariantPlan, displayWidth: Int,
                             toSRGB: Bool = false) async throws -> Made {
        if let library {
            return try await makeVariants(with: library, of: input, in: directory, plan: plan, displayWidth: displayWidth, toSRGB: toSRGB)
        }
        guard let executable else { throw Failure(description: "libvips is not installed") }
        let log = "\(directory)/vips-errors.txt"
        let convert = toSRGB ? ["--export-profile", "srgb"] : []
        var outputs: [Output] = []
        var source = input
        for width in plan.widths(forDisplayWidth: displayWidth).reversed() {
            let size = String(width)
            if let vips {
                // The first intermediate comes from the input (converted, turned upright); the others
                // from it, already sRGB and upright (it keeps the EXIF orientation tag: not turned twice).
                let stage = "\(directory)/stage-\(width).v"
                try await run(vips, ["thumbnail", source, stage, size, "--height", String(Self.unboundedHeight), "--size", "down"]
                              + (source == input ? ["--fail-on", "error"] + convert : ["--no-rotate"]), errors: log)
                source = stage
                for format in plan.formats {
                    let output = "\(directory)/w\(width).\(format.fileExtension)"
                    try await run(vips, ["copy", stage, "\(output)[\(Self.options(format))]"], errors: log)
                    outputs.append(try await finish(output, plannedWidth: width, format: format))
                }
            } else {
                for format in plan.formats {
                    let output = "\(directory)/w\(width).\(format.fileExtension)"
                    try await run(executable, [input, "--size", "\(size)x\(Self.unboundedHeight)>", "-o", "\(output)[\(Self.options(format))]"]
                                  + convert, errors: log)
                    outputs.append(try await finish(output, plannedWidth: width, format: format))
                }
            }
        }
        let placeholder = try await makePlaceholder(with: executable, from: source, options: source == input ? convert : ["--no-rotate"],
                                                    in: directory, errors: log)
        return Made(variants: Self.sorted(outputs, plan: plan), placeholder: placeholder)
    }

    /// ``makeVariants(of:in:plan:displayWidth:toSRGB:)`` in process: the input decoded once (shrunk
    /// on load where the format allows) to the largest width, in memory; each smaller width resized
    /// from the previous one; each format encoded from its width's image.
    private func makeVariants(with library: VipsLibrary, of input: String, in directory: String, plan: VariantPlan,
                              displayWidth: Int, toSRGB: Bool) async throws -> Made {
        var outputs: [Output] = []
        var current: VipsLibrary.Image?
        for width in plan.widths(forDisplayWidth: displayWidth).reversed() {
            let image = if let current {
                try await library.thumbnail(current, width: width, height: Self.unboundedHeight)
            } else {
                try await library.thumbnail(file: input, width: width, height: Self.unboundedHeight, toSRGB: toSRGB, timeLimit: timeLimit)
            }
            for format in plan.formats {
                let output = "\(directory)/w\(width).\(format.fileExtension)"
                try await library.save(image, to: output, options: Self.options(format))
                outputs.append(try await finish(output, plannedWidth: width, format: format))
            }
            current = image
        }
        let side = Self.placeholderSide
        let tiny = if let current {
            try await library.thumbnail(current, width: side, height: side)
        } else {
            try await library.thumbnail(file: input, width: side, height: side, toSRGB: toSRGB, timeLimit: timeLimit)
        }
        let output = "\(directory)/placeholder.webp"
        try await library.save(tiny, to: output, options: Self.placeholderOptions)
        return Made(variants: Self.sorted(outputs, plan: plan), placeholder: try await Self.placeholderURL(output))
    }

    /// Narrowest first, in the plan's format order for each width.
    static func sorted(_ outputs: [Output], plan: VariantPlan) -> [Output] {
        outputs.sorted { ($0.plannedWidth, plan.formats.firstIndex(of: $0.format) ?? 0) < ($1.plannedWidth, plan.formats.firstIndex(of: $1.format) ?? 0) }
    }

    static func options(_ format: ImageVariant.Format) -> String {
        switch format {
        case .webp: webpOptions
        case .avif: avifOptions
        }
    }

    /// The tiny WebP preview of `source` as a data URL, or `nil` when it is over ``placeholderLimit``.
    /// `options`: the colour conversion for the input, `--no-rotate` for an intermediate (upright already).
    private func makePlaceholder(with executable: String, from source: String, options: [String], in directory: String,
                                 errors log: String) async throws -> String? {
        let output = "\(directory)/placeholder.webp"
        let side = String(Self.placeholderSide)
        if let vips {
            try await run(vips, ["thumbnail", source, "\(output)[\(Self.placeholderOptions)]", side, "--height", side, "--size", "down"]
                          + options, errors: log)
        } else {
            try await run(executable, [source, "--size", "\(side)x\(side)>", "-o", "\(output)[\(Self.placeholderOptions)]"] + options,
                          errors: log)
        }
        return try await Self.placeholderURL(output)
    }

    /// The placeholder written at `path`, cleaned, as a data URL; `nil` when over ``placeholderLimit``.
    static func placeholderURL(_ path: String) async throws -> String? {
        let bytes = try await cleaned(path, format: .webp)
        let url = "data:image/webp;base64," + Data(bytes).base64EncodedString()
        return url.utf8.count < Self.placeholderLimit ? url : nil
    }

    /// Checks and cleans one written variant (see ``cleaned(_:format:)``) and reads its size back.
    private func finish(_ path: String, plannedWidth: Int, format: ImageVariant.Format) async throws -> Output {
        let bytes = try await Self.cleaned(path, format: format)
        guard case .image(let header) = ImageHeader.inspect(bytes, complete: true) else {
            throw Failure(description: "libvips wrote a \(format.rawValue) file whose size cannot be read")
        }
        return Output(plannedWidth: plannedWidth, width: header.width, height: header.height, format: format, path: path)
    }

    /// The bytes of a derived image at `path`, without metadata: a WebP is rewritten without its
    /// EXIF and XMP chunks (``WebPMetadata``); an AVIF with an `Exif` or XMP item is refused.
    /// A derived image never carries the original's GPS position, camera or serial number,
    /// whatever libvips kept. Through NIO's file system, off the cooperative pool.
    /// - Throws: ``Failure`` when the file is missing, not well-formed, or keeps metadata.
    static func cleaned(_ path: String, format: ImageVariant.Format) async throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else {
            throw Failure(description: "libvips wrote no \((path as NSString).lastPathComponent)")
        }
        let buffer = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { file in
            try await file.readToEnd(maximumSizeAllowed: .mebibytes(256))
        }
        let bytes = Array(buffer: buffer)
        switch format {
        case .avif:
            guard !AVIFMetadata.hasMetadata(bytes) else {
                throw Failure(description: "libvips kept EXIF or XMP in an AVIF file despite strip")
            }
            return bytes
        case .webp:
            guard let clean = WebPMetadata.removingMetadata(bytes) else {
                throw Failure(description: "libvips wrote a WebP file that is not well-formed")
            }
            guard clean.count != bytes.count else { return bytes }
            try await FileSystem.shared.withFileHandle(forWritingAt: FilePath(path), options: .newFile(replaceExisting: true)) { file in
                _ = try await file.write(contentsOf: clean, toAbsoluteOffset: 0)
            }
            return clean
        }
    }

    /// Runs a libvips tool; its messages go to the file at `errors` (a pipe could fill and stall it).
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
