import GRDB

/// One of the blob files an object's bytes are spread over, in order.
///
/// A completed multipart upload keeps its parts' blobs as the object's
/// segments instead of copying them into one new blob; the index's `segments`
/// column lists them (``encode(_:)``). An object written in one piece has no
/// segments: its `blob` column is its one file.
struct Segment: Sendable, Hashable {
    /// The blob file (see ``StoreLayout``).
    let blob: String
    /// Its size in bytes.
    let size: Int64
}

extension Segment {
    /// The `segments` column's text: one `<blob> <size>` line per segment, in order.
    ///
    /// ```
    /// 3f2a…e1 5242880
    /// 9c04…7b 1048576
    /// ```
    static func encode(_ segments: [Segment]) -> String {
        segments.map { "\($0.blob) \($0.size)" }.joined(separator: "\n")
    }

    /// The segments of a `segments` column's text.
    ///
    /// - Throws: `InternalError` unless every line is a blob name, one space and
    ///   a size in decimal digits, and there is at least one line.
    static func decode(_ text: String) throws(StoreError) -> [Segment] {
        var segments: [Segment] = []
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 1, omittingEmptySubsequences: false)
            guard fields.count == 2,
                  let blob = String(fields[0]), StoreLayout.isBlobName(blob),
                  !fields[1].isEmpty, fields[1].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  let size = Int64(String(decoding: fields[1], as: UTF8.self))
            else {
                throw StoreError(.internalError, "The index holds an unreadable segment list.")
            }
            segments.append(Segment(blob: blob, size: size))
        }
        guard !segments.isEmpty else { throw StoreError(.internalError, "The index holds an empty segment list.") }
        return segments
    }

    /// The blob files of an object row read with its `blob` and `segments` columns:
    /// its segments' blobs, or its one blob; none for a delete marker.
    ///
    /// - Throws: `InternalError` for an unreadable segment list; GRDB decoding errors.
    static func files(of row: Row) throws -> [String] {
        guard let blob = try row.decode(String?.self, forColumn: "blob") else { return [] }
        guard let text = try row.decode(String?.self, forColumn: "segments") else { return [blob] }
        return try decode(text).map(\.blob)
    }
}
