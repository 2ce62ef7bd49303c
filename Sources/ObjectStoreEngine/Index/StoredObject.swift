import Foundation
import GRDB

/// An object row of the index, as the engine reads it.
struct StoredObject {
    /// The bucket's row id.
    let bucketID: Int64
    /// The blob file holding the bytes; the first of ``segments`` when there are segments.
    let blob: String
    /// The blob files holding the bytes in order, for a completed multipart upload; `nil` when
    /// ``blob`` holds them all, or when the query did not select the column (listings do not).
    let segments: [Segment]?
    /// The SHA-256 of the bytes, kept for every object so copies can vouch for a checksum.
    let sha256: [UInt8]?
    /// What `HEAD` shows.
    let info: ObjectInfo

    /// The columns ``init(row:bucket:key:bucketID:decoder:versionId:)`` needs, with `o` the object table.
    static let columns = "o.blob, o.size, o.etag, o.sha256, o.last_modified, o.metadata"
    /// ``columns`` and the segment list: what reading or copying an object needs.
    static let columnsWithSegments = columns + ", o.segments"

    /// Reads an object from a row holding ``columns``.
    ///
    /// - Throws: a GRDB decoding error or `InternalError` when the row breaks the schema's promises.
    init(row: Row, bucket: String, key: String, bucketID: Int64, decoder: JSONDecoder, versionId: String? = nil) throws {
        guard let blob = try row.decode(String?.self, forColumn: "blob") else {
            throw StoreError(.internalError, "An index row has no blob.")
        }
        self.bucketID = bucketID
        self.blob = blob
        if row.hasColumn("segments"), let text = try row.decode(String?.self, forColumn: "segments") {
            self.segments = try Segment.decode(text)
        } else {
            self.segments = nil
        }
        self.sha256 = try row.decode(Data?.self, forColumn: "sha256").map(Array.init)
        self.info = ObjectInfo(
            bucket: bucket,
            key: key,
            size: try row.decode(Int64.self, forColumn: "size"),
            etag: try row.decode(String.self, forColumn: "etag"),
            lastModified: Date(timeIntervalSince1970: TimeInterval(try row.decode(Int64.self, forColumn: "last_modified"))),
            metadata: try MetadataCoding.decode(try row.decode(String.self, forColumn: "metadata"), with: decoder),
            versionId: versionId
        )
    }
}

/// The JSON that the index's `metadata` column holds.
enum MetadataCoding {
    /// `metadata` as JSON text.
    static func encode(_ metadata: ObjectMetadata) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        do {
            return String(decoding: try encoder.encode(metadata), as: UTF8.self)
        } catch {
            throw StoreError(.internalError, "Could not encode the object's metadata: \(error)")
        }
    }

    /// Metadata from the JSON text of the index.
    static func decode(_ text: String, with decoder: JSONDecoder) throws(StoreError) -> ObjectMetadata {
        do {
            return try decoder.decode(ObjectMetadata.self, from: Data(text.utf8))
        } catch {
            throw StoreError(.internalError, "The index holds unreadable metadata: \(error)")
        }
    }
}
