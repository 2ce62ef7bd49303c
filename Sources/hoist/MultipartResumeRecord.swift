import Foundation

/// What `hoist upload` keeps next to a file it sends in parts (`<file>.hoist-upload`), so that a
/// run cut short (Ctrl-C, a lost connection) continues where it stopped: the upload's id, key and
/// plan, the file it belongs to (size and modification time) and the parts known to be stored.
/// Storage's own list (`GET /multipart-uploads/{id}/parts`) decides what is sent again; the parts
/// here only tell people how far it got. The file is removed once the upload is complete.
///
/// ```swift
/// let record = MultipartResumeRecord(api: "http://127.0.0.1:8080", uploadId: id, key: key, articleId: article,
///                                    contentType: "image/jpeg", size: 41_000_000, modified: 1_765_000_000,
///                                    partSize: 8 << 20, partCount: 5)
/// let data = try record.encoded()
/// ```
struct MultipartResumeRecord: Codable, Sendable, Equatable {
    /// The layout of the file; another version reads as no record.
    static let currentVersion = 1
    /// The suffix of the resume file next to the uploaded file.
    static let suffix = ".hoist-upload"

    var version = Self.currentVersion
    /// The API's base URL the upload was started at.
    var api: String
    var uploadId: String
    var key: String
    var articleId: String
    var contentType: String
    /// The file's size in bytes when the upload started.
    var size: Int64
    /// The file's modification time (seconds since 1970) when the upload started.
    var modified: Double
    var partSize: Int64
    var partCount: Int
    /// Parts this client saw stored, ascending.
    var partsDone: [Int] = []

    /// The resume file of `file`: `<file>.hoist-upload`.
    static func path(for file: String) -> String { file + suffix }

    /// Reads a resume file's bytes; nil when they are not a record of this version (a file cut
    /// short, another layout, numbers that make no plan).
    static func decode(_ data: Data) -> MultipartResumeRecord? {
        guard let record = try? JSONDecoder().decode(MultipartResumeRecord.self, from: data),
              record.version == currentVersion, !record.uploadId.isEmpty, !record.key.isEmpty,
              record.size > 0, record.partSize > 0, record.partCount >= 1,
              (try? PartRange.plan(size: record.size, partSize: record.partSize).count) == record.partCount else { return nil }
        return record
    }

    /// The record as the resume file holds it (JSON, keys sorted).
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }

    /// Whether this record is about the same upload: the same API, the same file (size,
    /// modification time, type) and, when one is asked for, the same article.
    func matches(api: String, size: Int64, modified: Double, contentType: String, articleId: String?) -> Bool {
        self.api == api && self.size == size && abs(self.modified - modified) < 0.001 && self.contentType == contentType
            && (articleId == nil || articleId == self.articleId)
    }
}

/// One part of a multipart upload: its number and its byte range in the file.
struct PartRange: Sendable, Equatable {
    var number: Int
    var offset: Int64
    var length: Int64

    /// The parts of `size` bytes in parts of `partSize` (the server's plan: every part but the
    /// last has exactly `partSize` bytes).
    /// - Throws: ``UploadError`` when the numbers make no plan S3 takes (at most 10,000 parts).
    static func plan(size: Int64, partSize: Int64) throws -> [PartRange] {
        guard size > 0, partSize > 0 else { throw UploadError("cannot split \(size) bytes into parts of \(partSize) bytes") }
        let count = size / partSize + (size % partSize == 0 ? 0 : 1)
        guard count <= 10_000 else { throw UploadError("\(count) parts of \(partSize) bytes: S3 allows at most 10,000") }
        return (0..<Int(count)).map { i in
            let offset = Int64(i) * partSize
            return PartRange(number: i + 1, offset: offset, length: min(partSize, size - offset))
        }
    }
}

/// What to do after a part's `PUT` failed: S3's answer (or none) decides.
enum PartRetry: Equatable {
    /// The URL expired: sign the part again and send it at once.
    case resign
    /// Wait this long (seconds), then send it again.
    case retry(after: Double)
    /// Give up.
    case fail

    /// The decision for a `PUT` that ended with `status` (0: no answer, the connection broke) and
    /// `body`, after `failures` transient failures and `renewals` re-signings of this part.
    static func decide(status: Int, body: String, failures: Int, renewals: Int, maxFailures: Int = 5,
                       random: () -> Double = { Double.random(in: 0..<1) }) -> PartRetry {
        if status == 403, body.contains("Request has expired") { return renewals < 3 ? .resign : .fail }
        guard status == 0 || status >= 500 || status == 429 || body.contains("<Code>RequestTimeout</Code>") else { return .fail }
        guard failures < maxFailures else { return .fail }
        return .retry(after: backoff(attempt: failures, random: random))
    }

    /// Exponential back-off from half a second, at most 20 s, with equal jitter (half fixed, half random).
    static func backoff(attempt: Int, random: () -> Double = { Double.random(in: 0..<1) }) -> Double {
        let ceiling = min(20, 0.5 * Double(1 << min(attempt, 10)))
        return ceiling / 2 + random() * ceiling / 2
    }
}
