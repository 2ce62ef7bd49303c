import Foundation
import GRDB
import HoistSupport

/// A bucket's versioning state, once configured (a bucket never configured has none).
public enum VersioningStatus: String, Sendable, Hashable {
    /// Every write adds a version with a new id; a DELETE adds a delete marker.
    case enabled = "Enabled"
    /// Writes and DELETEs replace the `null` version; older versions stay.
    case suspended = "Suspended"
}

/// Version ids: `null`, or 32 lowercase hex digits (a millisecond time, then random bytes).
///
/// Opaque to clients; unique by their random part. Ordering of versions comes from the
/// index's row ids, not from the ids.
enum VersionID {
    /// S3's id of the version written while versioning was never enabled or suspended.
    static let null = "null"

    /// A new id.
    static func make(now: Date = Date()) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000))
        for shift in stride(from: 40, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: milliseconds >> UInt64(shift))) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10 { bytes.append(generator.next()) }
        return Hex.encode(bytes)
    }

    /// Whether `text` is an id this store could have made.
    static func isValid(_ text: String) -> Bool {
        if text == null { return true }
        return text.utf8.count == 32 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// - Throws: `InvalidArgument` when `text` is given and malformed.
    static func validate(_ text: String?) throws(StoreError) {
        if let text, !isValid(text) {
            throw StoreError(.invalidArgument, "Invalid version id specified")
        }
    }
}

/// What a DELETE did, for its response headers.
public struct DeleteOutcome: Sendable, Hashable {
    /// Whether anything changed: an object or version removed, or a delete marker added.
    public let removed: Bool
    /// The version removed, or the delete marker's id; `nil` in a bucket never versioned.
    public let versionId: String?
    /// Whether the version removed, or the one added, is a delete marker.
    public let isDeleteMarker: Bool
}

/// One entry of ``StorageEngine/listVersions(bucket:prefix:delimiter:keyMarker:versionIdMarker:maxKeys:)``.
public enum VersionListEntry: Sendable, Hashable {
    /// A version of an object; `isLatest` when GET without a versionId answers it.
    case version(ObjectInfo, isLatest: Bool)
    /// A delete marker.
    case deleteMarker(key: String, versionId: String, isLatest: Bool, lastModified: Date)
    /// Keys rolled up by the delimiter.
    case commonPrefix(String)
}

/// A page of ListObjectVersions.
public struct VersionListPage: Sendable {
    /// In S3's order: keys ascending, newest version first; common prefixes among them.
    public let entries: [VersionListEntry]
    /// Whether more entries follow: list again from ``nextKeyMarker`` and ``nextVersionIdMarker``.
    public let isTruncated: Bool
    /// The key-marker of the next page, when truncated.
    public let nextKeyMarker: String?
    /// The version-id-marker of the next page, when truncated (none after a common prefix).
    public let nextVersionIdMarker: String?
}

extension StorageEngine {
    static let versioningName = "versioning"

    // MARK: Configuration

    /// The bucket's versioning status; `nil` when it was never configured.
    ///
    /// - Throws: `NoSuchBucket`.
    public func versioning(_ bucket: String) async throws(StoreError) -> VersioningStatus? {
        guard let data = try await bucketConfiguration(bucket, name: Self.versioningName) else { return nil }
        return VersioningStatus(rawValue: String(decoding: data, as: UTF8.self))
    }

    /// Enables or suspends versioning. A versioned bucket never goes back to unversioned.
    ///
    /// - Throws: `NoSuchBucket`.
    public func setVersioning(_ bucket: String, _ status: VersioningStatus) async throws(StoreError) {
        try await setBucketConfiguration(bucket, name: Self.versioningName, value: Data(status.rawValue.utf8))
    }

    /// The versioning status, inside a transaction.
    static func versioningStatus(_ db: Database, bucketID: Int64) throws -> VersioningStatus? {
        try Data.fetchOne(db, sql: "SELECT value FROM bucket_configuration WHERE bucket_id = ? AND name = ?",
                          arguments: [bucketID, versioningName])
            .flatMap { VersioningStatus(rawValue: String(decoding: $0, as: UTF8.self)) }
    }

    // MARK: Deleting

    /// Deletes an object, or one version of it.
    ///
    /// - Without `versionId`: in a bucket never versioned the object goes (event
    ///   `ObjectRemoved:Delete`); with versioning `Enabled` a delete marker with a new id
    ///   becomes the latest version; `Suspended`, a `null` delete marker replaces the `null`
    ///   version (both `ObjectRemoved:DeleteMarkerCreated`).
    /// - With `versionId`: that version goes for good (`ObjectRemoved:Delete`); if it was the
    ///   latest, the newest remaining version (perhaps a delete marker) becomes the latest.
    ///   An unknown version changes nothing.
    ///
    /// - Returns: What was done, for the response headers.
    /// - Throws: `NoSuchBucket`, `KeyTooLongError`, `InvalidArgument` (empty key, malformed version id), `InternalError`.
    public func delete(bucket: String, key: String, versionId: String?) async throws(StoreError) -> DeleteOutcome {
        try ObjectKey.validate(key)
        try VersionID.validate(versionId)
        let removedEvent = objectEvent("ObjectRemoved:Delete")
        let markerEvent = objectEvent("ObjectRemoved:DeleteMarkerCreated")
        let now = currentSeconds()
        let keyBytes = Data(key.utf8)
        let result = try await write("delete the object") { db -> (outcome: DeleteOutcome, orphans: [String]) in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            let status = try Self.versioningStatus(db, bucketID: bucketID)
            let everVersioned = status != nil

            if let versionId {
                guard let existing = try Row.fetchOne(db, sql: """
                    SELECT id, blob, segments, is_latest, is_delete_marker FROM object WHERE bucket_id = ? AND key = ? AND version_id = ?
                    """, arguments: [bucketID, keyBytes, versionId])
                else { return (DeleteOutcome(removed: false, versionId: versionId, isDeleteMarker: false), []) }
                try db.execute(sql: "DELETE FROM object WHERE id = ?", arguments: [try existing.decode(Int64.self, forColumn: "id")])
                if try existing.decode(Bool.self, forColumn: "is_latest") {
                    try db.execute(sql: """
                        UPDATE object SET is_latest = 1 WHERE id = (
                            SELECT id FROM object WHERE bucket_id = ? AND key = ? ORDER BY id DESC LIMIT 1)
                        """, arguments: [bucketID, keyBytes])
                }
                try Self.emit(db, removedEvent, bucketID: bucketID, key: key, size: nil, etag: nil,
                              versionId: everVersioned ? versionId : nil)
                let marker = try existing.decode(Bool.self, forColumn: "is_delete_marker")
                return (DeleteOutcome(removed: true, versionId: versionId, isDeleteMarker: marker),
                        try Self.unreferencedFiles(db, of: existing))
            }

            guard let status else {
                guard let existing = try Row.fetchOne(db, sql: """
                    SELECT id, blob, segments FROM object
                    WHERE bucket_id = ? AND key = ? AND is_latest = 1 AND is_delete_marker = 0
                    """, arguments: [bucketID, keyBytes])
                else { return (DeleteOutcome(removed: false, versionId: nil, isDeleteMarker: false), []) }
                try db.execute(sql: "DELETE FROM object WHERE id = ?", arguments: [try existing.decode(Int64.self, forColumn: "id")])
                try Self.emit(db, removedEvent, bucketID: bucketID, key: key, size: nil, etag: nil, versionId: nil)
                return (DeleteOutcome(removed: true, versionId: nil, isDeleteMarker: false),
                        try Self.unreferencedFiles(db, of: existing))
            }
            let markerId = try Self.addDeleteMarker(db, bucketID: bucketID, key: key, status: status, lastModified: now,
                                                    event: markerEvent)
            return (DeleteOutcome(removed: true, versionId: markerId.id, isDeleteMarker: true), markerId.orphans)
        }
        if result.outcome.removed { eventGeneration.add(1, ordering: .releasing) }
        await removeBlobs(result.orphans)
        return result.outcome
    }

    /// Makes a delete marker the latest version of `key` in a versioned bucket, inside the caller's transaction.
    ///
    /// `Suspended`: the marker is the `null` version, replacing the previous one.
    ///
    /// - Returns: The marker's id and the blob files left unreferenced (removed by the caller after the commit).
    static func addDeleteMarker(
        _ db: Database, bucketID: Int64, key: String, status: VersioningStatus, lastModified: Int64, event: ObjectEvent
    ) throws -> (id: String, orphans: [String]) {
        let keyBytes = Data(key.utf8)
        try db.execute(sql: "UPDATE object SET is_latest = 0 WHERE bucket_id = ? AND key = ? AND is_latest = 1",
                       arguments: [bucketID, keyBytes])
        var replaced: Row?
        let id: String
        switch status {
        case .enabled:
            id = VersionID.make()
        case .suspended:
            id = VersionID.null
            replaced = try removeNullVersion(db, bucketID: bucketID, key: keyBytes)
        }
        try db.execute(sql: """
            INSERT INTO object (bucket_id, key, version_id, is_latest, is_delete_marker, blob, size, etag, last_modified, metadata)
            VALUES (?, ?, ?, 1, 1, NULL, 0, '', ?, '{}')
            """, arguments: [bucketID, keyBytes, id, lastModified])
        try emit(db, event, bucketID: bucketID, key: key, size: nil, etag: nil, versionId: id)
        return (id, try unreferencedFiles(db, of: replaced))
    }

    // MARK: Listing versions

    /// ListObjectVersions: every version and delete marker, keys in UTF-8 byte order,
    /// the newest version of each key first.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - prefix: Only keys that start with it.
    ///   - delimiter: Rolls keys up into common prefixes, as ``list(bucket:prefix:delimiter:after:maxKeys:)`` does.
    ///   - keyMarker: Start after this key, or, with `versionIdMarker`, after that version of it.
    ///   - versionIdMarker: The last version of `keyMarker` already returned.
    ///   - maxKeys: At most this many entries (versions, markers and common prefixes).
    /// - Throws: `NoSuchBucket`, `InvalidArgument` (negative `maxKeys`, a version marker without a
    ///   key marker, a malformed one), `InternalError`.
    public func listVersions(
        bucket: String, prefix: String, delimiter: String?, keyMarker: String?, versionIdMarker: String?, maxKeys: Int
    ) async throws(StoreError) -> VersionListPage {
        guard maxKeys >= 0 else { throw StoreError(.invalidArgument, "max-keys must not be negative.") }
        let keyMarker = keyMarker.flatMap { $0.isEmpty ? nil : $0 }
        let versionIdMarker = versionIdMarker.flatMap { $0.isEmpty ? nil : $0 }
        if versionIdMarker != nil && keyMarker == nil {
            throw StoreError(.invalidArgument, "A version-id marker cannot be specified without a key marker.")
        }
        try VersionID.validate(versionIdMarker)
        let scan = ListScan(
            prefix: Array(prefix.utf8),
            delimiter: delimiter.flatMap { $0.isEmpty ? nil : Array($0.utf8) },
            after: keyMarker.map { Array($0.utf8) }
        )
        return try await read("list the versions") { db in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            var entries: [VersionListEntry] = []
            var last: (key: String, version: String?)?
            let decoder = JSONDecoder()

            /// Adds a row; `false` when the page is full (and so truncated).
            func take(_ row: Row, key: String) throws -> Bool {
                guard entries.count < maxKeys else { return false }
                let versionId = try row.decode(String.self, forColumn: "version_id")
                let isLatest = try row.decode(Bool.self, forColumn: "is_latest")
                if try row.decode(Bool.self, forColumn: "is_delete_marker") {
                    let modified = Date(timeIntervalSince1970: TimeInterval(try row.decode(Int64.self, forColumn: "last_modified")))
                    entries.append(.deleteMarker(key: key, versionId: versionId, isLatest: isLatest, lastModified: modified))
                } else {
                    let object = try StoredObject(row: row, bucket: bucket, key: key, bucketID: bucketID, decoder: decoder,
                                                  versionId: versionId)
                    entries.append(.version(object.info, isLatest: isLatest))
                }
                last = (key, versionId)
                return true
            }

            let columns = "o.key, o.id, o.version_id, o.is_latest, o.is_delete_marker, o.blob, o.size, o.etag, o.sha256, o.last_modified, o.metadata"
            // The rest of the marker key's versions, older than the marker version.
            if let keyMarker, let versionIdMarker {
                let markerBytes = Data(keyMarker.utf8)
                if let markerRow = try Int64.fetchOne(db, sql: "SELECT id FROM object WHERE bucket_id = ? AND key = ? AND version_id = ?",
                                                      arguments: [bucketID, markerBytes, versionIdMarker]) {
                    let rows = try Row.fetchAll(db, sql: """
                        SELECT \(columns) FROM object o WHERE o.bucket_id = ? AND o.key = ? AND o.id < ? ORDER BY o.id DESC
                        """, arguments: [bucketID, markerBytes, markerRow])
                    for row in rows {
                        guard try take(row, key: keyMarker) else {
                            return VersionListPage(entries: entries, isTruncated: true, nextKeyMarker: last?.key, nextVersionIdMarker: last?.version)
                        }
                    }
                }
            }

            // Then the later keys, walking the latest-object index key by key.
            let upper = ObjectKey.successor(ofPrefix: scan.prefix)
            var lower: [UInt8] = scan.prefix
            var inclusive = true
            if let after = scan.after, !after.lexicographicallyPrecedes(scan.prefix) {
                lower = after
                inclusive = false
            }
            while true {
                var arguments: StatementArguments = [bucketID, Data(lower)]
                if let upper { arguments += [Data(upper)] }
                guard let keyData = try Data.fetchOne(db, sql: """
                    SELECT key FROM object WHERE bucket_id = ? AND key \(inclusive ? ">=" : ">") ?\(upper != nil ? " AND key < ?" : "")
                    ORDER BY key LIMIT 1
                    """, arguments: arguments)
                else { break }
                let key = [UInt8](keyData)
                if let commonPrefix = scan.commonPrefix(of: key) {
                    if let after = scan.after, !after.lexicographicallyPrecedes(commonPrefix) {
                        // Returned on an earlier page.
                    } else {
                        guard entries.count < maxKeys else {
                            return VersionListPage(entries: entries, isTruncated: true, nextKeyMarker: last?.key, nextVersionIdMarker: last?.version)
                        }
                        let name = String(decoding: commonPrefix, as: UTF8.self)
                        entries.append(.commonPrefix(name))
                        last = (name, nil)
                    }
                    guard let next = ObjectKey.successor(ofPrefix: commonPrefix) else { break }
                    lower = next
                    inclusive = true
                    continue
                }
                let keyString = String(decoding: key, as: UTF8.self)
                let rows = try Row.fetchAll(db, sql: """
                    SELECT \(columns) FROM object o WHERE o.bucket_id = ? AND o.key = ? ORDER BY o.id DESC
                    """, arguments: [bucketID, keyData])
                for row in rows {
                    guard try take(row, key: keyString) else {
                        return VersionListPage(entries: entries, isTruncated: true, nextKeyMarker: last?.key, nextVersionIdMarker: last?.version)
                    }
                }
                lower = key
                inclusive = false
            }
            return VersionListPage(entries: entries, isTruncated: false, nextKeyMarker: nil, nextVersionIdMarker: nil)
        }
    }
}

extension StorageEngine {
    /// Whether `text` is a version id this store could have made (or `null`): a malformed one is S3's `InvalidArgument`.
    public static func isValidVersionId(_ text: String) -> Bool {
        VersionID.isValid(text)
    }
}
