import Foundation

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

    /// Whether `text` is a UUID in its 36-character form (`8-4-4-4-12` hex digits, either case).
    public static func isUUID(_ text: String) -> Bool {
        var count = 0
        for byte in text.utf8 {
            switch count {
            case 8, 13, 18, 23:
                guard byte == UInt8(ascii: "-") else { return false }
            default:
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                        || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(byte) else { return false }
            }
            count += 1
            if count > 36 { return false }
        }
        return count == 36
    }

    /// A new random (version 4) UUID, lowercase: for articles.
    ///
    /// From the system's CSPRNG (`getrandom` on Linux). Foundation's `UUID()` opens and
    /// reads `/dev/urandom` on every call there, which showed in the API's profile.
    public static func randomUUID() -> String {
        let (random, low) = randomWords()
        return format(high: random & ~0xF000 | 0x4000, low: variant(low))
    }

    /// A new time-ordered (version 7) UUID, lowercase: for upload keys.
    ///
    /// The first 48 bits are the Unix time in milliseconds, the other 74 free bits random.
    /// Keys issued one after another then sort together, so the record store's key index
    /// grows at its end instead of at random pages, and an article's keys list in issue order.
    public static func timeOrderedUUID(now: Date = Date()) -> String {
        let (random, low) = randomWords()
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000)) & 0xFFFF_FFFF_FFFF
        return format(high: milliseconds << 16 | 0x7000 | random & 0x0FFF, low: variant(low))
    }

    /// 128 random bits from the system's CSPRNG.
    private static func randomWords() -> (UInt64, UInt64) {
        var generator = SystemRandomNumberGenerator()
        return (generator.next(), generator.next())
    }

    /// `low` with the RFC 9562 variant bits, `10`.
    private static func variant(_ low: UInt64) -> UInt64 {
        (low & ~(0xC000 << 48)) | (0x8000 << 48)
    }

    /// The 36-character form of the 128 bits `high`, `low`.
    private static func format(high: UInt64, low: UInt64) -> String {
        let digits: StaticString = "0123456789abcdef"
        return String(unsafeUninitializedCapacity: 36) { buffer in
            var index = 0
            for word in [high, low] {
                for nibble in 0..<16 {
                    if index == 8 || index == 13 || index == 18 || index == 23 {
                        buffer[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    buffer[index] = digits.utf8Start[Int(word >> UInt64(60 - 4 * nibble) & 0xF)]
                    index += 1
                }
            }
            return index
        }
    }
}
