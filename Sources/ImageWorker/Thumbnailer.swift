import Foundation

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

    /// A failure of `vipsthumbnail` on an input: the image cannot be decoded.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Writes each variant of `input` into `directory`, never enlarging.
    /// - Returns: Variant name → file path.
    /// - Throws: ``Failure`` with `vipsthumbnail`'s message when it cannot read the image.
    public func makeVariants(of input: String, in directory: String) async throws -> [String: String] {
        var outputs: [String: String] = [:]
        for variant in variants {
            let output = "\(directory)/\(variant.name).\(Self.fileExtension)"
            try await run([input, "--size", "\(variant.maxSide)x\(variant.maxSide)>", "-o", "\(output)[Q=82,strip]"])
            guard FileManager.default.fileExists(atPath: output) else {
                throw Failure(description: "vipsthumbnail wrote no \(variant.name) image")
            }
            outputs[variant.name] = output
        }
        return outputs
    }

    private func run(_ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
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
        if process.terminationReason == .uncaughtSignal {
            throw Failure(description: "vipsthumbnail did not finish within \(timeLimit)")
        }
        guard status == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let first = text.split(separator: "\n").first.map(String.init) ?? "exit status \(status)"
            throw Failure(description: String(first.prefix(300)))
        }
    }
}
