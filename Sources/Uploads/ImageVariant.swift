import Foundation

/// One responsive copy of an uploaded image: its pixel size, its format and where it is stored,
/// ready for an `<img srcset>` (`<url> <width>w`).
public struct ImageVariant: Sendable, Hashable, Codable {
    /// The encodings the worker can write.
    public enum Format: String, Sendable, Hashable, Codable, CaseIterable {
        case webp, avif

        /// The media type of a file in this format.
        public var contentType: String { "image/\(rawValue)" }
        /// The file name extension of a file in this format.
        public var fileExtension: String { rawValue }
    }

    /// The stored pixel width (the `w` descriptor of `srcset`).
    public var width: Int
    /// The stored pixel height.
    public var height: Int
    /// The encoding.
    public var format: Format
    /// The object key, `articles/<articleId>/processed/<uuid>/w<width>.<ext>`.
    public var key: String

    /// Creates a variant description.
    public init(width: Int, height: Int, format: Format, key: String) {
        self.width = width
        self.height = height
        self.format = format
        self.key = key
    }
}

extension UploadRecord {
    /// ``variants`` as the JSON text the stores keep (`nil` when there are none).
    /// - Throws: The encoder's error (not expected for these plain values).
    package func encodedVariants() throws -> String? {
        variants.isEmpty ? nil : String(decoding: try JSONEncoder().encode(variants), as: UTF8.self)
    }

    /// The variants in a store's JSON text; none when the text is absent or unreadable
    /// (a record is still listed, without its variants, rather than failing the whole listing).
    package static func decodeVariants(_ json: String?) -> [ImageVariant] {
        guard let json, let variants = try? JSONDecoder().decode([ImageVariant].self, from: Data(json.utf8)) else { return [] }
        return variants
    }
}
