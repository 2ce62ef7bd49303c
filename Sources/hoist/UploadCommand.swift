import ArgumentParser
import AsyncHTTPClient
import Auth
import Crypto
import Foundation
import HoistServer
import NIOCore
import Synchronization

/// `hoist upload`: the command-line client of the upload API.
struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload images through the Hoist API: get a pre-signed URL for each file, then PUT it straight to storage.",
        discussion: """
            The token comes from HOIST_TOKEN, or from the dev issuer's key in the data folder (for `hoist serve`). \
            Each file's size and SHA-256 are sent, so storage refuses anything else. Files go up concurrently, \
            with a progress line per file on standard error; each key is printed on standard output. An expired \
            URL is replaced once.

            Files over --multipart-threshold (8 MiB) go as multipart uploads: parts sent --part-concurrency at a \
            time, each bound to its SHA-256; expired part URLs are signed again, network errors, 5xx and 429 retried \
            with back-off. The upload is remembered in <file>.hoist-upload until it completes: after Ctrl-C or a \
            failure, the same command sends only the parts storage lacks.

            Example:
              hoist upload photo.jpg diagram.png --api http://127.0.0.1:8080
            """
    )

    @Argument(help: "The image files (jpg, jpeg, png, webp, gif, avif).")
    var files: [String]

    @Option(help: "The article to upload into (a UUID); default: a new one, shared by all the files.")
    var article: String?

    @Option(help: "The API's base URL.")
    var api: String = "http://127.0.0.1:8080"

    @Option(help: "The dev issuer's user, when HOIST_TOKEN is not set.")
    var user: String = "dev"

    @Option(help: "How many files go up at once.")
    var concurrency: Int = 3

    @Option(help: "Files over this many bytes go as resumable multipart uploads.")
    var multipartThreshold: Int64 = 8 << 20

    @Option(help: "How many parts of one file go up at once.")
    var partConcurrency: Int = 4

    @Option(help: "The data folder holding the dev issuer's key (for tokens when HOIST_TOKEN is not set).")
    var data: String = ProcessInfo.processInfo.environment["HOIST_DATA"] ?? "hoist-data"

    static let types = ["jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif", "avif": "image/avif",
                         "heic": "image/heic", "heif": "image/heif"]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("Name at least one file.") }
        guard (1...16).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 16.") }
        guard (1...16).contains(partConcurrency) else { throw ValidationError("--part-concurrency must be between 1 and 16.") }
        guard multipartThreshold >= 1 else { throw ValidationError("--multipart-threshold must be at least 1 byte.") }
        for file in files {
            let ext = (file as NSString).pathExtension.lowercased()
            guard Self.types[ext] != nil else {
                throw ValidationError("\(file): only \(Self.types.keys.sorted().joined(separator: ", ")) files can be uploaded.")
            }
            guard FileManager.default.isReadableFile(atPath: file) else { throw ValidationError("\(file): cannot be read.") }
        }
    }

    func run() async throws {
        let base = api.hasSuffix("/") ? String(api.dropLast()) : api
        let token: String
        if let fromEnvironment = ProcessInfo.processInfo.environment["HOIST_TOKEN"], !fromEnvironment.isEmpty {
            token = fromEnvironment
        } else {
            let issuer = try DevIssuer.loadOrCreate(directory: URL(fileURLWithPath: data), issuer: base)
            token = try await issuer.token(for: user, ttl: .seconds(3600))
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let progress = ProgressBoard()
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(250))
                progress.draw()
            }
        }
        var failures = 0
        do {
            var articleId = article
            var remaining = files[...]
            if articleId == nil, let first = remaining.popFirst() {
                // The first file creates the article the others join.
                do {
                    let result = try await upload(first, articleId: nil, base: base, token: token, client: client, progress: progress)
                    articleId = result.articleId
                    say(result.key)
                } catch {
                    failures += 1
                    progress.finish(first, note: "failed")
                    printError("\(first): \(error)")
                }
            }
            let article = articleId
            try await withThrowingTaskGroup(of: (String, Result<UploadResult, any Error>).self) { group in
                var iterator = remaining.makeIterator()
                func startNext() {
                    guard let file = iterator.next() else { return }
                    group.addTask {
                        do {
                            return (file, .success(try await upload(file, articleId: article, base: base, token: token, client: client, progress: progress)))
                        } catch {
                            return (file, .failure(error))
                        }
                    }
                }
                for _ in 0..<concurrency { startNext() }
                for try await (file, result) in group {
                    switch result {
                    case .success(let uploaded): say(uploaded.key)
                    case .failure(let error):
                        failures += 1
                        progress.finish(file, note: "failed")
                        printError("\(file): \(error)")
                    }
                    startNext()
                }
            }
        } catch {
            ticker.cancel()
            try? await client.shutdown()
            throw error
        }
        ticker.cancel()
        progress.draw(final: true)
        try await client.shutdown()
        if failures > 0 { throw ExitCode(1) }
    }

    struct UploadResult: Sendable {
        var key: String
        var articleId: String
    }

    /// Asks for a URL, then streams the file to it; an expired URL is replaced once.
    func upload(_ file: String, articleId: String?, base: String, token: String, client: HTTPClient,
                progress: ProgressBoard) async throws -> UploadResult {
        let (size, modified) = try await Self.sizeAndModification(of: file)
        let contentType = Self.types[(file as NSString).pathExtension.lowercased()] ?? "application/octet-stream"
        if size > multipartThreshold {
            return try await uploadMultipart(file, size: size, modified: modified, contentType: contentType, articleId: articleId,
                                             base: base, token: token, client: client, progress: progress)
        }
        let checksum = try Self.sha256Base64(of: file)
        progress.start(file, total: size)
        for attempt in 0..<2 {
            var body: [String: Any] = ["contentType": contentType, "size": size, "checksumSHA256": checksum]
            if let articleId { body["articleId"] = articleId }
            var request = HTTPClientRequest(url: base + "/upload-url")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            let response = try await client.execute(request, timeout: .seconds(30))
            let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
            guard response.status == .ok, let url = object["uploadUrl"] as? String, let key = object["key"] as? String,
                  let article = object["articleId"] as? String, let headers = object["headers"] as? [String: String] else {
                let message = ((object["error"] as? [String: Any])?["message"] as? String) ?? "HTTP \(response.status.code)"
                throw UploadError("the API refused: \(message)")
            }
            var put = HTTPClientRequest(url: url)
            put.method = .PUT
            for (name, value) in headers where name.lowercased() != "content-length" { put.headers.add(name: name, value: value) }
            put.body = .stream(FileChunks(path: file, onChunk: { progress.advance(file, by: $0) }), length: .known(size))
            let result = try await client.execute(put, timeout: .seconds(3600))
            let reply = String(buffer: try await result.body.collect(upTo: 1 << 20))
            if result.status.code / 100 == 2 {
                progress.finish(file, note: "done")
                return UploadResult(key: key, articleId: article)
            }
            if result.status.code == 403, reply.contains("Request has expired"), attempt == 0 {
                progress.restart(file)
                continue
            }
            throw UploadError("storage refused the upload (HTTP \(result.status.code)): \(Self.explain(reply))")
        }
        throw UploadError("the upload URL expired twice")
    }

    /// S3's XML error as one readable line.
    static func explain(_ xml: String) -> String {
        func element(_ name: String) -> String? {
            guard let start = xml.range(of: "<\(name)>"), let end = xml.range(of: "</\(name)>", range: start.upperBound..<xml.endIndex) else { return nil }
            return String(xml[start.upperBound..<end.lowerBound])
        }
        guard let code = element("Code") else { return xml.prefix(200).description }
        let hint: String
        switch code {
        case "SignatureDoesNotMatch": hint = " (the file changed or headers were altered)"
        case "BadDigest": hint = " (the bytes differ from the checksum that was signed)"
        case "PreconditionFailed": hint = " (an object is already at this key)"
        default: hint = ""
        }
        return "\(code): \(element("Message") ?? "")\(hint)"
    }

    static func sha256Base64(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw UploadError("\(path) cannot be read") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return Data(hasher.finalize()).base64EncodedString()
    }
}

struct UploadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A file read in 256 KiB `ByteBuffer`s, reporting each chunk as it is handed to the client.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    let onChunk: @Sendable (Int) -> Void

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        let onChunk: @Sendable (Int) -> Void
        mutating func next() async throws -> ByteBuffer? {
            guard let handle, let data = try handle.read(upToCount: 256 * 1024), !data.isEmpty else {
                try? handle?.close()
                return nil
            }
            onChunk(data.count)
            return ByteBuffer(bytes: data)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(handle: FileHandle(forReadingAtPath: path), onChunk: onChunk)
    }
}

/// Progress of every file: bytes sent, total, rate and time left, drawn on standard error.
final class ProgressBoard: Sendable {
    struct Line {
        var total: Int64
        var sent: Int64 = 0
        /// Bytes already stored when this run started (a resumed upload's parts): not in the rate.
        var already: Int64 = 0
        var started = Date()
        var note: String?
        /// Parts stored and planned, for multipart uploads.
        var parts: (done: Int, count: Int)?
    }
    private let lines = Mutex<[(String, Line)]>([])
    private let interactive = isatty(2) != 0
    private let drawn = Mutex(0)

    func start(_ file: String, total: Int64, already: Int64 = 0) {
        lines.withLock { $0.append((file, Line(total: total, sent: already, already: already))) }
    }
    /// Shows `done` of `count` parts stored on the file's line.
    func parts(_ file: String, done: Int, of count: Int) {
        lines.withLock { lines in
            if let i = lines.firstIndex(where: { $0.0 == file }) { lines[i].1.parts = (done, count) }
        }
    }
    /// A message on standard error, above the progress lines.
    func say(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
        if interactive { drawn.withLock { $0 = 0 } }
    }
    func restart(_ file: String) {
        lines.withLock { lines in
            if let i = lines.firstIndex(where: { $0.0 == file }) { lines[i].1.sent = 0; lines[i].1.started = Date() }
        }
    }
    func advance(_ file: String, by count: Int) {
        lines.withLock { lines in
            if let i = lines.firstIndex(where: { $0.0 == file }) { lines[i].1.sent += Int64(count) }
        }
    }
    func finish(_ file: String, note: String?) {
        lines.withLock { lines in
            if let i = lines.firstIndex(where: { $0.0 == file }) { lines[i].1.note = note }
        }
    }

    /// Redraws the lines (in place on a terminal; once at the end otherwise).
    func draw(final: Bool = false) {
        guard interactive || final else { return }
        let snapshot = lines.withLock { $0 }
        var out = ""
        let previous = drawn.withLock { $0 }
        if interactive && previous > 0 { out += "\u{1B}[\(previous)A" }
        for (file, line) in snapshot {
            let elapsed = max(Date().timeIntervalSince(line.started), 0.001)
            let rate = Double(line.sent - line.already) / elapsed
            let percent = line.total > 0 ? Int(Double(line.sent) * 100 / Double(line.total)) : 100
            let left = rate > 0 ? Int(Double(line.total - line.sent) / rate) : 0
            let status = line.note ?? "ETA \(left)s"
            let parts = line.parts.map { "  parts \($0.done)/\($0.count)" } ?? ""
            out += (interactive ? "\u{1B}[2K" : "") + "\((file as NSString).lastPathComponent)  \(percent)%  \(Self.bytes(line.sent))/\(Self.bytes(line.total))  \(Self.bytes(Int64(rate)))/s\(parts)  \(status)\n"
        }
        drawn.withLock { $0 = snapshot.count }
        FileHandle.standardError.write(Data(out.utf8))
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }
}
