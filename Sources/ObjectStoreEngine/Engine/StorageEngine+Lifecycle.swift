import Foundation
import GRDB

extension StorageEngine {
    /// Applies every bucket's lifecycle rules once: aborts multipart uploads
    /// initiated longer ago than a rule's `AbortIncompleteMultipartUpload` days,
    /// and deletes objects older than its `Expiration` (days or date).
    ///
    /// Each removal is its own small transaction, so a long pass never holds the
    /// writer for long; a key rewritten meanwhile is left alone. Blobs are
    /// removed after their rows.
    ///
    /// - Parameter now: The time the rules are measured against.
    /// - Returns: What was removed.
    /// - Throws: `InternalError`.
    @discardableResult
    public func applyLifecycle(now: Date) async throws(StoreError) -> LifecycleReport {
        let configured = try await read("read the lifecycle rules") { db in
            try Row.fetchAll(db, sql: """
                SELECT b.name, c.value FROM bucket_configuration c JOIN bucket b ON b.id = c.bucket_id WHERE c.name = ?
                """, arguments: [LifecycleConfiguration.configurationName])
                .map { (try $0.decode(String.self, atIndex: 0), try $0.decode(Data.self, atIndex: 1)) }
        }
        var report = LifecycleReport()
        let decoder = JSONDecoder()
        for (bucket, data) in configured {
            guard let configuration = try? decoder.decode(LifecycleConfiguration.self, from: data) else { continue }
            for rule in configuration.rules where rule.enabled {
                if let days = rule.abortIncompleteMultipartUploadDays {
                    report.abortedUploads += try await abortIncompleteUploads(
                        bucket: bucket, prefix: rule.prefix, initiatedBefore: now - TimeInterval(days) * 86_400)
                }
                var cutoff: Date?
                if let days = rule.expirationDays { cutoff = now - TimeInterval(days) * 86_400 }
                if let date = rule.expirationDate, date <= now { cutoff = now + 1 }
                if let cutoff {
                    report.expiredObjects += try await expireObjects(bucket: bucket, prefix: rule.prefix, modifiedBefore: cutoff)
                }
                if let days = rule.noncurrentVersionExpirationDays {
                    report.expiredVersions += try await expireNoncurrentVersions(
                        bucket: bucket, prefix: rule.prefix, noncurrentBefore: now - TimeInterval(days) * 86_400)
                }
            }
        }
        return report
    }

    /// Aborts the uploads under `prefix` initiated before `initiatedBefore`.
    ///
    /// - Returns: How many were aborted.
    /// - Throws: `NoSuchBucket`, `InternalError`.
    public func abortIncompleteUploads(bucket: String, prefix: String, initiatedBefore: Date) async throws(StoreError) -> Int {
        let cutoff = Int64(initiatedBefore.timeIntervalSince1970.rounded(.down))
        let prefixBytes = Data(prefix.utf8)
        let rows = try await read("find abandoned uploads") { db -> [Int64] in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            return try Int64.fetchAll(db, sql: """
                SELECT id FROM multipart_upload WHERE bucket_id = ? AND substr(key, 1, ?) = ? AND initiated < ?
                """, arguments: [bucketID, prefixBytes.count, prefixBytes, cutoff])
        }
        var aborted = 0
        for row in rows {
            let blobs = try await write("abort an abandoned upload") { db -> [String]? in
                guard try Int64.fetchOne(db, sql: "SELECT id FROM multipart_upload WHERE id = ?", arguments: [row]) != nil else { return nil }
                return try Self.deleteUpload(db, row: row)
            }
            guard let blobs else { continue }
            aborted += 1
            await removeBlobs(blobs)
        }
        return aborted
    }

    /// Deletes for good the versions under `prefix` that became noncurrent before `noncurrentBefore`:
    /// a version becomes noncurrent when the next one (a newer version or a delete marker) is
    /// written, so its age is the next one's `last_modified`, as S3 counts it.
    ///
    /// - Returns: How many versions (and delete markers) were deleted.
    /// - Throws: `NoSuchBucket`, `InternalError`.
    public func expireNoncurrentVersions(bucket: String, prefix: String, noncurrentBefore: Date) async throws(StoreError) -> Int {
        let cutoff = Int64(noncurrentBefore.timeIntervalSince1970.rounded(.down))
        let prefixBytes = Data(prefix.utf8)
        let successor = """
            (SELECT n.last_modified FROM object n WHERE n.bucket_id = o.bucket_id AND n.key = o.key AND n.id > o.id
             ORDER BY n.id LIMIT 1)
            """
        let rows = try await read("find noncurrent versions") { db -> [Int64] in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            return try Int64.fetchAll(db, sql: """
                SELECT o.id FROM object o
                WHERE o.bucket_id = ? AND substr(o.key, 1, ?) = ? AND o.is_latest = 0 AND \(successor) < ?
                """, arguments: [bucketID, prefixBytes.count, prefixBytes, cutoff])
        }
        var expired = 0
        for id in rows {
            let event = objectEvent("LifecycleExpiration:Delete")
            let orphans = try await write("expire a noncurrent version") { db -> [String]? in
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT o.blob, o.segments, o.bucket_id, o.key, o.version_id FROM object o
                    WHERE o.id = ? AND o.is_latest = 0 AND \(successor) < ?
                    """, arguments: [id, cutoff]) else { return .none }
                let bucketID = try row.decode(Int64.self, forColumn: "bucket_id")
                let key = String(decoding: try row.decode(Data.self, forColumn: "key"), as: UTF8.self)
                try db.execute(sql: "DELETE FROM object WHERE id = ?", arguments: [id])
                try Self.emit(db, event, bucketID: bucketID, key: key, size: nil, etag: nil,
                              versionId: try row.decode(String.self, forColumn: "version_id"))
                return try Self.unreferencedFiles(db, of: row)
            }
            eventGeneration.add(1, ordering: .releasing)
            guard let orphans else { continue }
            expired += 1
            await removeBlobs(orphans)
        }
        return expired
    }

    /// Deletes the objects under `prefix` last modified before `modifiedBefore`.
    ///
    /// In a versioned bucket, as S3 does, the expired object stays as a noncurrent
    /// version behind a new delete marker (`LifecycleExpiration:DeleteMarkerCreated`).
    ///
    /// - Returns: How many were deleted.
    /// - Throws: `NoSuchBucket`, `InternalError`.
    public func expireObjects(bucket: String, prefix: String, modifiedBefore: Date) async throws(StoreError) -> Int {
        let cutoff = Int64(modifiedBefore.timeIntervalSince1970.rounded(.down))
        let prefixBytes = Data(prefix.utf8)
        let rows = try await read("find expired objects") { db -> [Int64] in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            return try Int64.fetchAll(db, sql: """
                SELECT id FROM object
                WHERE bucket_id = ? AND substr(key, 1, ?) = ? AND is_latest = 1 AND is_delete_marker = 0 AND last_modified < ?
                """, arguments: [bucketID, prefixBytes.count, prefixBytes, cutoff])
        }
        var expired = 0
        for id in rows {
            // The row id changes when the key is rewritten: then the newer object stays.
            let event = objectEvent("LifecycleExpiration:Delete")
            let markerEvent = objectEvent("LifecycleExpiration:DeleteMarkerCreated")
            let now = currentSeconds()
            let orphans = try await write("expire an object") { db -> [String]? in
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT blob, segments, bucket_id, key FROM object WHERE id = ? AND last_modified < ? AND is_latest = 1
                    """, arguments: [id, cutoff]) else { return .none }
                let bucketID = try row.decode(Int64.self, forColumn: "bucket_id")
                let key = String(decoding: try row.decode(Data.self, forColumn: "key"), as: UTF8.self)
                if let status = try Self.versioningStatus(db, bucketID: bucketID) {
                    return try Self.addDeleteMarker(db, bucketID: bucketID, key: key, status: status, lastModified: now,
                                                    event: markerEvent).orphans
                }
                try db.execute(sql: "DELETE FROM object WHERE id = ?", arguments: [id])
                try Self.emit(db, event, bucketID: bucketID, key: key, size: nil, etag: nil, versionId: nil)
                return try Self.unreferencedFiles(db, of: row)
            }
            eventGeneration.add(1, ordering: .releasing)
            guard let orphans else { continue }
            expired += 1
            await removeBlobs(orphans)
        }
        return expired
    }
}
