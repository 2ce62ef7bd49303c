import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import _NIOFileSystem

/// The upload API's JSON routes as `hoist upload` calls them: a bearer token, transport errors,
/// 5xx and 429 retried with back-off, errors turned into one readable line.
struct UploadAPIClient: Sendable {
    let base: String
    let token: String
    let client: HTTPClient

    /// An answer of the API that is not a success.
    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var code: String
        var message: String
        var description: String { "the API answered HTTP \(status) \(code): \(message)" }
    }

    /// Calls `method path` with an optional JSON body; returns the JSON object answered (empty for 204).
    /// - Throws: ``Failure`` for an error answer, ``UploadError`` when the API cannot be reached.
    func call(_ method: HTTPMethod, _ path: String, json body: Data? = nil) async throws -> [String: Any] {
        var attempt = -1
        while true {
            attempt += 1
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(token)")
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            let status: Int
            let data: Data
            do {
                let response = try await client.execute(request, timeout: .seconds(60))
                status = Int(response.status.code)
                data = Data(buffer: try await response.body.collect(upTo: 4 << 20))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                guard attempt < 4 else { throw UploadError("could not reach the API at \(base): \(error)") }
                try await Task.sleep(for: .seconds(PartRetry.backoff(attempt: attempt)))
                continue
            }
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            if (200..<300).contains(status) { return object ?? [:] }
            if (status >= 500 || status == 429), attempt < 4 {
                try await Task.sleep(for: .seconds(PartRetry.backoff(attempt: attempt)))
                continue
            }
            let error = object?["error"] as? [String: Any]
            throw Failure(status: status, code: error?["code"] as? String ?? "http_\(status)",
                          message: error?["message"] as? String ?? String(decoding: data.prefix(300), as: UTF8.self))
        }
    }

    static func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object) }
}

extension UploadCommand {
    /// Sends a large file as a multipart upload, resumable through `<file>.hoist-upload`: a rerun
    /// asks storage which parts it holds and sends only the others, `partConcurrency` at a time,
    /// each part read from disk through NIO's file system, bound to its SHA-256.
    func uploadMultipart(_ file: String, size: Int64, modified: Double, contentType: String, articleId: String?,
                         base: String, token: String, client: HTTPClient, progress: ProgressBoard) async throws -> UploadResult {
        let api = UploadAPIClient(base: base, token: token, client: client)
        let resumePath = MultipartResumeRecord.path(for: file)
        var record: MultipartResumeRecord?
        var missing: [Int]?

        let saved = await Self.readResumeRecord(resumePath)
        if let saved, saved.api == base,
           !saved.matches(api: base, size: size, modified: modified, contentType: contentType, articleId: articleId) {
            // The file (or the article asked for) changed since the interrupted upload: its parts are
            // of no use. Abort it (best effort: the server's sweeper aborts it at its expiry anyway).
            progress.say("\(file): changed since the interrupted upload \(saved.uploadId); aborting it and starting again")
            _ = try? await api.call(.DELETE, "/multipart-uploads/\(Self.escaped(saved.uploadId))")
        }
        if let saved, saved.matches(api: base, size: size, modified: modified, contentType: contentType, articleId: articleId) {
            do {
                let listed = try await api.call(.GET, "/multipart-uploads/\(Self.escaped(saved.uploadId))/parts")
                switch listed["status"] as? String {
                case "completed":
                    let done = try await api.call(.POST, "/multipart-uploads/\(Self.escaped(saved.uploadId))/complete")
                    await Self.removeResumeRecord(resumePath)
                    progress.start(file, total: size)
                    progress.advance(file, by: Int(size))
                    progress.finish(file, note: "done (already complete)")
                    return UploadResult(key: saved.key, articleId: done["articleId"] as? String ?? saved.articleId)
                case "active" where (listed["partSize"] as? NSNumber)?.int64Value == saved.partSize:
                    record = saved
                    missing = (listed["missingParts"] as? [NSNumber])?.map(\.intValue) ?? []
                default:
                    break
                }
            } catch let failure as UploadAPIClient.Failure where failure.status == 404 {
                // Aborted, expired or someone else's: start again.
            }
        }

        if record == nil {
            var body: [String: Any] = ["contentType": contentType, "size": size, "checksumAlgorithm": "SHA256"]
            if let articleId { body["articleId"] = articleId }
            let created = try await api.call(.POST, "/multipart-uploads", json: try UploadAPIClient.json(body))
            guard let uploadId = created["uploadId"] as? String, let key = created["key"] as? String,
                  let article = created["articleId"] as? String, let partSize = (created["partSize"] as? NSNumber)?.int64Value,
                  let partCount = (created["partCount"] as? NSNumber)?.intValue else {
                throw UploadError("the API answered POST /multipart-uploads without an upload id, key and plan")
            }
            let fresh = MultipartResumeRecord(api: base, uploadId: uploadId, key: key, articleId: article, contentType: contentType,
                                              size: size, modified: modified, partSize: partSize, partCount: partCount)
            if !(await Self.writeResumeRecord(fresh, to: resumePath)) {
                printError("\(file): cannot write \(resumePath); this upload cannot be resumed if it is interrupted")
            }
            record = fresh
        }
        guard var upload = record else { throw UploadError("no upload") }
        let plan = try PartRange.plan(size: size, partSize: upload.partSize)
        guard plan.count == upload.partCount else {
            throw UploadError("the server planned \(upload.partCount) parts; \(size) bytes in parts of \(upload.partSize) make \(plan.count)")
        }
        let wanted = Set(missing ?? plan.map(\.number))
        upload.partsDone = plan.map(\.number).filter { !wanted.contains($0) }
        progress.start(file, total: size, already: plan.filter { !wanted.contains($0.number) }.reduce(0) { $0 + $1.length })
        progress.parts(file, done: upload.partsDone.count, of: plan.count)
        if missing != nil {
            progress.say("\(file): resuming upload \(upload.uploadId): storage holds \(upload.partsDone.count) of \(plan.count) parts; sending \(wanted.count)")
        }

        let resumed = upload.partsDone.count
        var sent = 0
        for round in 0..<3 {
            let queue = plan.filter { wanted.contains($0.number) && !upload.partsDone.contains($0.number) }
            try await sendParts(queue, of: file, upload: upload, api: api, client: client, progress: progress) { number in
                sent += 1
                upload.partsDone = (upload.partsDone + [number]).sorted()
                progress.parts(file, done: upload.partsDone.count, of: plan.count)
                _ = await Self.writeResumeRecord(upload, to: resumePath)
            }
            do {
                progress.finish(file, note: "completing")
                let done = try await api.call(.POST, "/multipart-uploads/\(Self.escaped(upload.uploadId))/complete")
                await Self.removeResumeRecord(resumePath)
                progress.finish(file, note: "done (\(plan.count) parts: \(sent) sent, \(resumed) already stored)")
                return UploadResult(key: done["key"] as? String ?? upload.key, articleId: done["articleId"] as? String ?? upload.articleId)
            } catch let failure as UploadAPIClient.Failure where failure.code == "incomplete_upload" && round < 2 {
                // Storage lacks a part: ask which, and send those.
                let listed = try await api.call(.GET, "/multipart-uploads/\(Self.escaped(upload.uploadId))/parts")
                let lacking = Set((listed["missingParts"] as? [NSNumber])?.map(\.intValue) ?? [])
                upload.partsDone.removeAll { lacking.contains($0) }
                progress.finish(file, note: nil)
            }
        }
        throw UploadError("storage still lacks parts after three rounds")
    }

    /// Sends `parts`, `partConcurrency` at a time; `stored` runs (in this task) after each part is stored.
    private func sendParts(_ parts: [PartRange], of file: String, upload: MultipartResumeRecord, api: UploadAPIClient,
                           client: HTTPClient, progress: ProgressBoard, stored: (Int) async -> Void) async throws {
        try await withThrowingTaskGroup(of: Int.self) { group in
            var queue = parts[...]
            func startNext() {
                guard let part = queue.popFirst() else { return }
                group.addTask {
                    try await Self.sendPart(part, of: file, uploadId: upload.uploadId, api: api, client: client, progress: progress)
                }
            }
            for _ in 0..<partConcurrency { startNext() }
            for try await number in group {
                await stored(number)
                startNext()
            }
        }
    }

    /// Reads one part (NIO's file system), hashes it, signs it and PUTs it; an expired URL is
    /// signed again, transport errors, 5xx and 429 are retried with back-off and jitter.
    private static func sendPart(_ part: PartRange, of file: String, uploadId: String, api: UploadAPIClient, client: HTTPClient,
                                 progress: ProgressBoard) async throws -> Int {
        let bytes = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(file)) { handle in
            try await handle.readChunk(fromAbsoluteOffset: part.offset, length: .bytes(part.length))
        }
        guard bytes.readableBytes == part.length else {
            throw UploadError("part \(part.number): the file is shorter than when the upload started (it changed)")
        }
        let checksum = Data(SHA256.hash(data: bytes.readableBytesView)).base64EncodedString()
        func sign() async throws -> (url: String, headers: [String: String]) {
            let body = try UploadAPIClient.json(["parts": [["partNumber": part.number, "checksumSHA256": checksum]]])
            let signed = try await api.call(.POST, "/multipart-uploads/\(escaped(uploadId))/parts", json: body)
            guard let first = (signed["parts"] as? [[String: Any]])?.first, let url = first["url"] as? String else {
                throw UploadError("part \(part.number): the API signed no URL")
            }
            return (url, first["headers"] as? [String: String] ?? [:])
        }
        var signed = try await sign()
        var failures = 0
        var renewals = 0
        while true {
            var status = 0
            var reply = ""
            var transport: (any Error)?
            do {
                var put = HTTPClientRequest(url: signed.url)
                put.method = .PUT
                for (name, value) in signed.headers where name.lowercased() != "content-length" { put.headers.add(name: name, value: value) }
                put.body = .bytes(bytes)
                let response = try await client.execute(put, timeout: .seconds(600))
                status = Int(response.status.code)
                reply = String(buffer: try await response.body.collect(upTo: 1 << 20))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                transport = error
            }
            if transport == nil, (200..<300).contains(status) {
                progress.advance(file, by: Int(part.length))
                return part.number
            }
            switch PartRetry.decide(status: status, body: reply, failures: failures, renewals: renewals) {
            case .resign:
                renewals += 1
                signed = try await sign()
            case .retry(let after):
                failures += 1
                try await Task.sleep(for: .seconds(after))
            case .fail:
                if let transport { throw UploadError("part \(part.number): the connection to storage failed: \(transport)") }
                throw UploadError("part \(part.number): storage refused it (HTTP \(status)): \(explain(reply))")
            }
        }
    }

    /// A file's size and modification time (seconds since 1970), read through NIO's file system.
    static func sizeAndModification(of file: String) async throws -> (size: Int64, modified: Double) {
        guard let info = try await FileSystem.shared.info(forFileAt: FilePath(file), infoAboutSymbolicLink: false) else {
            throw UploadError("\(file) does not exist")
        }
        let mtime = info.lastDataModificationTime
        return (info.size, Double(mtime.seconds) + Double(mtime.nanoseconds) / 1e9)
    }

    static func escaped(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? id
    }

    /// The resume record at `path`, or nil (none, unreadable, another layout).
    static func readResumeRecord(_ path: String) async -> MultipartResumeRecord? {
        guard let buffer = try? await ByteBuffer(contentsOf: FilePath(path), maximumSizeAllowed: .kibibytes(256)) else { return nil }
        return MultipartResumeRecord.decode(Data(buffer: buffer))
    }

    /// Writes `record` to `path`; false when it cannot be written.
    static func writeResumeRecord(_ record: MultipartResumeRecord, to path: String) async -> Bool {
        guard let data = try? record.encoded() else { return false }
        do {
            try await ByteBuffer(bytes: data).write(toFileAt: FilePath(path), options: .newFile(replaceExisting: true))
            return true
        } catch {
            return false
        }
    }

    static func removeResumeRecord(_ path: String) async {
        _ = try? await FileSystem.shared.removeItem(at: FilePath(path), strategy: .platformDefault, recursively: false)
    }
}
