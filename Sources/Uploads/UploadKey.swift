/// The key layout of uploads, `articles/<articleId>/raw/<uuid>.<ext>`, and of the images derived
/// from them, `articles/<articleId>/processed/<uuid>/`: the API makes the keys, the worker reads them.
public struct UploadKey: Sendable, Equatable {
    public var articleId: String
    public var uuid: String
    /// The extension, from the declared type.
    public var ext: String

    public init(articleId: String, uuid: String, ext: String) {
        self.articleId = articleId
        self.uuid = uuid
        self.ext = ext
    }

    /// The parts of `key`, or `nil` when it is not an upload key (a derived image, a quarantined file, …).
    public init?(_ key: String) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "articles", parts[2] == "raw", !parts[1].isEmpty,
              let dot = parts[3].firstIndex(of: "."), dot != parts[3].startIndex else { return nil }
        articleId = String(parts[1])
        uuid = String(parts[3][..<dot])
        ext = String(parts[3][parts[3].index(after: dot)...])
    }

    /// The object key.
    public var key: String { "articles/\(articleId)/raw/\(uuid).\(ext)" }

    /// Where the derived images go: `articles/<articleId>/processed/<uuid>/`.
    public var processedPrefix: String { "articles/\(articleId)/processed/\(uuid)/" }
}
