import Foundation

/// A multipart upload the API started on storage for a user: which S3 upload, which key, how
/// it is cut into parts, until when it may run, and how it ended.
public struct MultipartUploadRecord: Sendable, Hashable {
    /// Where a multipart upload stands.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// Started; parts may be uploaded.
        case active
        /// Completed on storage: the object exists (``MultipartUploadRecord/etag``).
        case completed
        /// Aborted on storage, by its owner or because it expired.
        case aborted
    }

    /// The S3 upload id.
    public var uploadId: String
    /// The object key, `articles/<articleId>/raw/<uuid>.<ext>`.
    public var key: String
    /// The article the upload belongs to.
    public var articleId: String
    /// The user who started it.
    public var owner: String
    /// The declared content type.
    public var contentType: String
    /// The declared total size in bytes.
    public var size: Int64
    /// The length of every part but the last.
    public var partSize: Int64
    /// Whether every part carries its SHA-256 (the upload was created with that checksum algorithm).
    public var checksumSHA256: Bool
    /// When it was started.
    public var createdAt: Date
    /// After this, no part URL is issued and the sweeper aborts it on storage.
    public var expiresAt: Date
    /// Where it stands.
    public var status: Status
    /// The completed object's ETag (no quotes), once completed.
    public var etag: String? = nil
    /// When it was completed or aborted.
    public var finishedAt: Date? = nil

    /// A record as started: ``status`` `active`.
    public init(uploadId: String, key: String, articleId: String, owner: String, contentType: String, size: Int64,
                partSize: Int64, checksumSHA256: Bool, createdAt: Date, expiresAt: Date, status: Status = .active) {
        self.uploadId = uploadId
        self.key = key
        self.articleId = articleId
        self.owner = owner
        self.contentType = contentType
        self.size = size
        self.partSize = partSize
        self.checksumSHA256 = checksumSHA256
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.status = status
    }

    /// How the declared size is cut into parts.
    public var plan: MultipartPlan { MultipartPlan(size: size, partSize: partSize) }
}

/// How an upload of `size` bytes is cut into parts: all of ``partSize`` but the last, which
/// holds the rest. S3 wants parts of at least 5 MiB (the last aside), at most 5 GiB, and at
/// most 10,000 of them.
///
/// ```swift
/// let plan = MultipartPlan(size: 20 << 20)   // 8 MiB parts: 8, 8, 4 MiB
/// plan.partCount                              // 3
/// plan.length(ofPart: 3)                      // 4 MiB
/// ```
public struct MultipartPlan: Sendable, Hashable {
    /// The smallest part S3 takes (the last part aside).
    public static let minimumPartSize: Int64 = 5 << 20
    /// The largest part S3 takes.
    public static let maximumPartSize: Int64 = 5 << 30
    /// The most parts an upload may have.
    public static let maximumParts: Int64 = 10_000
    /// The part size chosen when the size allows it.
    public static let preferredPartSize: Int64 = 8 << 20
    /// The largest object a multipart upload can make (S3's limit, 5 TiB).
    public static let maximumSize: Int64 = 5 << 40

    /// The total size in bytes.
    public let size: Int64
    /// The length of every part but the last.
    public let partSize: Int64

    /// The plan of `size` bytes (1 to ``maximumSize``) with ``partSize(for:)``.
    public init(size: Int64) {
        self.init(size: size, partSize: Self.partSize(for: size))
    }

    /// The plan of `size` bytes in parts of `partSize`.
    public init(size: Int64, partSize: Int64) {
        self.size = size
        self.partSize = max(1, partSize)
    }

    /// The part size for `size` bytes: 8 MiB, or more when 10,000 parts of 8 MiB would not
    /// hold it (`ceil(size / 10,000)` rounded up to a whole MiB).
    public static func partSize(for size: Int64) -> Int64 {
        let mebibyte: Int64 = 1 << 20
        let needed = size / maximumParts + (size % maximumParts == 0 ? 0 : 1)
        let rounded = (needed / mebibyte + (needed % mebibyte == 0 ? 0 : 1)) * mebibyte
        return max(preferredPartSize, rounded)
    }

    /// How many parts: `ceil(size / partSize)`, at least 1.
    public var partCount: Int {
        guard size > 0 else { return 1 }
        return Int(size / partSize + (size % partSize == 0 ? 0 : 1))
    }

    /// The exact length of part `number`, or `nil` when the upload has no such part.
    public func length(ofPart number: Int) -> Int64? {
        guard number >= 1, number <= partCount else { return nil }
        if number < partCount { return partSize }
        return size - Int64(partCount - 1) * partSize
    }

    /// What is wrong with `parts` (part number → length, as storage lists them) for a completion:
    /// a missing part, an extra one, or one of another length; `nil` when they are exactly the plan.
    public func problems(with parts: [(number: Int, size: Int64)]) -> String? {
        var seen = Set<Int>()
        var wrong: [String] = []
        for part in parts {
            guard let expected = length(ofPart: part.number) else {
                wrong.append("part \(part.number) is not part of this upload (it has \(partCount) parts)")
                continue
            }
            seen.insert(part.number)
            if part.size != expected {
                wrong.append("part \(part.number) has \(part.size) bytes, not \(expected)")
            }
        }
        let missing = (1...partCount).filter { !seen.contains($0) }
        if !missing.isEmpty {
            let shown = missing.prefix(20).map(String.init).joined(separator: ", ")
            wrong.insert("missing part\(missing.count == 1 ? "" : "s") \(shown)\(missing.count > 20 ? " and \(missing.count - 20) more" : "")", at: 0)
        }
        return wrong.isEmpty ? nil : wrong.prefix(20).joined(separator: "; ")
    }
}
