import Foundation
import GRDB
import Synchronization

extension StorageEngine {
    // MARK: Writing

    /// Starts an upload into `bucket`: a temporary file that the returned sink writes through to.
    ///
    /// The key is chosen at ``commit(_:bucket:key:metadata:condition:)``; until
    /// then nothing is visible.
    ///
    /// The bytes are encrypted at rest (SSE-S3, see ``BlobKey``) when `serverSideEncryption` asks
    /// for it or the bucket encrypts by default; the committed object's metadata says so.
    ///
    /// - Throws: `NoSuchBucket`; `InternalError` if the temporary file cannot be created.
    public func beginUpload(bucket: String, serverSideEncryption: Bool = false) async throws(StoreError) -> UploadSink {
        let found = try await read("look up the bucket") { db in try Self.bucketEncryption(db, bucket) }
        guard let found else { throw StoreError.noSuchBucket(bucket) }
        let layout = layout
        let master = serverSideEncryption || found.encrypts ? masterKey : nil
        return try await FileIO.offload { () throws(StoreError) in try UploadSink(layout: layout, encryptedWith: master) }
    }

    /// Atomically publishes the upload as `bucket`/`key`.
    ///
    /// Flushes the temporary file, renames it into the blob folder and flushes
    /// that folder; then, in ONE SQLite transaction, checks `condition` and
    /// inserts or replaces the index row. After the commit it removes the
    /// replaced object's blob or segments (unless a copy still uses them). If anything fails,
    /// the temporary or blob file is removed and nothing is visible.
    ///
    /// The sink is used up, whatever the outcome.
    ///
    /// - Parameters:
    ///   - sink: The upload, from ``beginUpload(bucket:)`` of this engine.
    ///   - bucket: The bucket; checked again here, as it may have been deleted meanwhile.
    ///   - key: The object's key, 1 to 1024 bytes of UTF-8.
    ///   - metadata: Stored as given; a `checksumSHA256` must match the bytes.
    ///   - condition: Checked inside the transaction, so racing writers see each other.
    ///   - eventName: The event notification's name (`ObjectCreated:Put`, `ObjectCreated:Post`, ...).
    /// - Returns: The published object.
    /// - Throws: `NoSuchBucket`, `PreconditionFailed`, `KeyTooLongError`,
    ///   `InvalidArgument` (empty key, used sink, checksum mismatch), `InternalError`.
    public func commit(
        _ sink: UploadSink,
        bucket: String,
        key: String,
        metadata: ObjectMetadata,
        condition: WriteCondition = .none,
        eventName: String = "ObjectCreated:Put"
    ) async throws(StoreError) -> ObjectInfo {
        guard sink.layout == layout else {
            throw StoreError(.invalidArgument, "The upload belongs to another store.")
        }
        do throws(StoreError) {
            try ObjectKey.validate(key)
        } catch {
            await sink.discardAndRemove()
            throw error
        }
        // From here on this commit owns the temporary file.
        let (size, digests) = try await sink.seal()
        var metadata = metadata
        metadata.serverSideEncryption = sink.isEncrypted ? ObjectMetadata.aes256 : nil
        let blobPath = layout.blobPath(sink.blobName)
        let renamed = Renamed()
        defer { sink.markFinished() }
        do throws(StoreError) {
            if let checksum = metadata.checksumSHA256, checksum != digests.sha256Base64 {
                throw StoreError(.invalidArgument, "The x-amz-checksum-sha256 you specified did not match the calculated checksum.")
            }
            try await publishFile(of: sink, at: blobPath, renamed: renamed)
            let row = NewObjectRow(
                blob: sink.blobName,
                segments: nil,
                size: size,
                etag: digests.md5Hex,
                sha256: digests.sha256,
                lastModified: currentSeconds(),
                metadata: try MetadataCoding.encode(metadata)
            )
            let event = objectEvent(eventName)
            let published = try await write("publish the object") { db in
                guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
                return try Self.publishLatest(db, bucketID: bucketID, key: key, row: row, condition: condition, event: event)
            }
            eventGeneration.add(1, ordering: .releasing)
            await removeBlobs(published.orphans)
            return row.info(bucket: bucket, key: key, metadata: metadata, versionId: published.versionId)
        } catch {
            let leftover = renamed.value ? blobPath : sink.tmpPath
            await FileIO.offloadCleanup { FileIO.removeIfExists(leftover) }
            throw error
        }
    }

    /// Whether a commit's temporary file was renamed into the blobs (then a failure removes the blob).
    final class Renamed: Sendable {
        private let flag = Mutex(false)
        var value: Bool { flag.withLock { $0 } }
        func set() { flag.withLock { $0 = true } }
    }

    /// Renames a sealed sink's file into the blobs and flushes the shard folder, on the thread pool.
    func publishFile(of sink: UploadSink, at blobPath: String, renamed: Renamed) async throws(StoreError) {
        let tmpPath = sink.tmpPath, shard = layout.shardDirectory(sink.blobName)
        try await FileIO.offload { () throws(StoreError) in
            try FileIO.rename(tmpPath, blobPath)
            renamed.set()
            try FileIO.syncDirectory(shard)
        }
    }

    /// Abandons an upload: removes its temporary file (on the thread pool, after any write in flight).
    ///
    /// Safe to call twice, and after a commit (then it does nothing).
    public func abort(_ sink: UploadSink) async {
        await sink.discardAndRemove()
    }

    /// Copies an object, sharing its immutable blob (or segments): no bytes are copied.
    ///
    /// The copy is encrypted at rest when its source is (they share the files). When the copy
    /// must be encrypted (`serverSideEncryption`, or the destination bucket's default) and the
    /// source is not, the bytes are read and written again, encrypted.
    ///
    /// - Parameters:
    ///   - fromBucket: The source bucket.
    ///   - fromKey: The source key.
    ///   - toBucket: The destination bucket (may be the source's).
    ///   - toKey: The destination key (may be the source's, to replace metadata).
    ///   - fromVersionId: A version of the source to copy (`versionId`); `nil` for the latest.
    ///   - metadata: The copy's metadata; `nil` keeps the source's. A replacement
    ///     without `checksumSHA256` inherits the source's (the bytes are the same);
    ///     one with a different checksum is refused.
    ///   - serverSideEncryption: The copy must be encrypted at rest (`x-amz-server-side-encryption: AES256`).
    /// - Returns: The copy: the source's size and ETag, a new `lastModified`.
    /// - Throws: `NoSuchBucket`, `NoSuchKey`, `NoSuchVersion`, `InvalidRequest` (the version is a
    ///   delete marker), `KeyTooLongError`, `InvalidArgument`, `InternalError`.
    public func copy(
        fromBucket: String,
        fromKey: String,
        fromVersionId: String? = nil,
        toBucket: String,
        toKey: String,
        metadata: ObjectMetadata?,
        serverSideEncryption: Bool = false
    ) async throws(StoreError) -> ObjectInfo {
        try ObjectKey.validate(fromKey)
        try ObjectKey.validate(toKey)
        let now = currentSeconds()
        let event = objectEvent("ObjectCreated:Copy")
        let outcome = try await write("copy the object") { db -> (info: ObjectInfo, orphans: [String])? in
            let source: StoredObject
            do {
                source = try Self.storedObject(db, bucket: fromBucket, key: fromKey, versionId: fromVersionId)
            } catch let error as StoreError where error.code == .methodNotAllowed {
                throw StoreError(.invalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
            }
            guard let destination = try Self.bucketEncryption(db, toBucket) else { throw StoreError.noSuchBucket(toBucket) }
            let sourceEncrypted = source.info.metadata.serverSideEncryption != nil
            if (serverSideEncryption || destination.encrypts) && !sourceEncrypted {
                return nil  // the bytes must be written again, encrypted
            }
            var newMetadata = source.info.metadata
            if let given = metadata {
                newMetadata = given
                let sourceChecksum = source.sha256.map { Data($0).base64EncodedString() } ?? source.info.metadata.checksumSHA256
                if let checksum = given.checksumSHA256 {
                    guard checksum == sourceChecksum else {
                        throw StoreError(.invalidArgument, "The x-amz-checksum-sha256 you specified did not match the source object's checksum.")
                    }
                } else if let inherited = source.info.metadata.checksumSHA256 {
                    newMetadata.checksumSHA256 = inherited
                }
            }
            // The files are shared: the copy is encrypted exactly when they are.
            newMetadata.serverSideEncryption = source.info.metadata.serverSideEncryption
            let row = NewObjectRow(
                blob: source.blob,
                segments: source.segments,
                size: source.info.size,
                etag: source.info.etag,
                sha256: source.sha256,
                lastModified: now,
                metadata: try MetadataCoding.encode(newMetadata)
            )
            let published = try Self.publishLatest(db, bucketID: destination.id, key: toKey, row: row, condition: .none, event: event)
            return (row.info(bucket: toBucket, key: toKey, metadata: newMetadata, versionId: published.versionId), published.orphans)
        }
        guard let (info, orphans) = outcome else {
            return try await copyEncrypting(fromBucket: fromBucket, fromKey: fromKey, fromVersionId: fromVersionId,
                                            toBucket: toBucket, toKey: toKey, metadata: metadata)
        }
        eventGeneration.add(1, ordering: .releasing)
        await removeBlobs(orphans)
        return info
    }

    /// A copy of a plain object that must be encrypted: its bytes streamed through a new encrypted upload.
    private func copyEncrypting(
        fromBucket: String, fromKey: String, fromVersionId: String?, toBucket: String, toKey: String, metadata: ObjectMetadata?
    ) async throws(StoreError) -> ObjectInfo {
        let info: ObjectInfo, reader: ObjectReader
        do {
            (info, reader) = try await open(bucket: fromBucket, key: fromKey, versionId: fromVersionId)
        } catch {
            guard error.code == .methodNotAllowed else { throw error }
            throw StoreError(.invalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
        }
        defer { reader.close() }
        var newMetadata = metadata ?? info.metadata
        if metadata != nil, newMetadata.checksumSHA256 == nil { newMetadata.checksumSHA256 = info.metadata.checksumSHA256 }
        let sink = try await beginUpload(bucket: toBucket, serverSideEncryption: true)
        try await copy(reader, 0..<info.size, into: sink)
        do {
            return try await commit(sink, bucket: toBucket, key: toKey, metadata: newMetadata, eventName: "ObjectCreated:Copy")
        } catch {
            guard error.code == .invalidArgument, newMetadata.checksumSHA256 != nil, metadata?.checksumSHA256 != nil else { throw error }
            throw StoreError(.invalidArgument, "The x-amz-checksum-sha256 you specified did not match the source object's checksum.")
        }
    }

    /// Deletes an object.
    ///
    /// In a versioned bucket this adds a delete marker (see ``delete(bucket:key:versionId:)``).
    ///
    /// - Returns: `false` if there was no such object (S3 answers 204 all the same).
    /// - Throws: `NoSuchBucket`, `KeyTooLongError`, `InvalidArgument` (empty key), `InternalError`.
    public func delete(bucket: String, key: String) async throws(StoreError) -> Bool {
        try await delete(bucket: bucket, key: key, versionId: nil).removed
    }

    // MARK: Reading

    /// The object at `bucket`/`key`.
    ///
    /// - Throws: `NoSuchBucket`, `NoSuchKey`, `KeyTooLongError`, `InvalidArgument` (empty key), `InternalError`.
    public func head(bucket: String, key: String, versionId: String? = nil) async throws(StoreError) -> ObjectInfo {
        try ObjectKey.validate(key)
        try VersionID.validate(versionId)
        return try await read("read the object") { db in
            try Self.storedObject(db, bucket: bucket, key: key, versionId: versionId, withSegments: false)
        }.info
    }

    /// Opens the object's bytes for reading: its blob, or every one of its segments.
    ///
    /// Blobs are immutable: an open reader keeps working if the object is
    /// overwritten or deleted meanwhile. Each file's size is checked against the
    /// size the index records for it.
    ///
    /// - Returns: The object and a reader of its bytes; close the reader when done.
    /// - Parameter versionId: The version to read; `nil` for the latest.
    /// - Throws: `NoSuchBucket`, `NoSuchKey`, `NoSuchVersion`, `MethodNotAllowed` (a delete marker's version),
    ///   `KeyTooLongError`, `InvalidArgument` (empty key, malformed version id), `InternalError`.
    public func open(bucket: String, key: String, versionId: String? = nil) async throws(StoreError) -> (ObjectInfo, ObjectReader) {
        try ObjectKey.validate(key)
        try VersionID.validate(versionId)
        // The files can be replaced and removed between reading the row and opening
        // them: then the row has changed too, so look again.
        for _ in 0..<8 {
            let object = try await read("read the object") { db in
                try Self.storedObject(db, bucket: bucket, key: key, versionId: versionId)
            }
            let segments = object.segments ?? [Segment(blob: object.blob, size: object.info.size)]
            guard segments.reduce(0, { $0 + $1.size }) == object.info.size else {
                throw StoreError(.internalError, "The object's segments do not add up to the size the index records.")
            }
            let master = object.info.metadata.serverSideEncryption != nil ? masterKey : nil
            if segments.count > Self.eagerSegmentLimit, let reader = try await pinnedReader(segments, master: master) {
                return (object.info, reader)
            }
            if segments.count <= Self.eagerSegmentLimit, let reader = try await FileIO.offload({ () throws(StoreError) -> ObjectReader? in
                try self.openSegments(segments, encrypted: master != nil).map { ObjectReader(files: $0, master: master) }
            }) {
                return (object.info, reader)
            }
        }
        throw StoreError(.internalError, "The object's data is missing.")
    }

    /// Opens every segment's file and checks its size; `nil` (nothing left open) when a file is missing.
    ///
    /// - Throws: `InternalError` when a file cannot be opened or has another size than its segment.
    /// Objects in more segments than this are read with their files opened as reads reach them
    /// (a few at a time), not all at open: a 10,000-part object does not need 10,000 descriptors.
    static let eagerSegmentLimit = 16

    /// A reader that opens the segments' files as it goes, the blobs pinned so an overwrite or a
    /// delete meanwhile cannot remove them before it is closed; `nil` when a file is already gone
    /// (the row changed: look again).
    func pinnedReader(_ segments: [Segment], master: MasterKey?) async throws(StoreError) -> ObjectReader? {
        let blobs = segments.map(\.blob)
        pins.pin(blobs)
        let layout = layout
        let paths = blobs.map(layout.blobPath)
        let present = try await FileIO.offload { () throws(StoreError) -> Bool in
            paths.allSatisfy(FileIO.exists)
        }
        let pins = pins
        let release: @Sendable () -> Void = {
            let free = pins.unpin(blobs).filter(StoreLayout.isBlobName).map(layout.blobPath)
            guard !free.isEmpty else { return }
            Task { await FileIO.offloadCleanup { for path in free { FileIO.removeIfExists(path) } } }
        }
        guard present else {
            release()
            return nil
        }
        return ObjectReader(paths: paths, sizes: segments.map(\.size), master: master, release: release)
    }

    private func openSegments(_ segments: [Segment], encrypted: Bool) throws(StoreError) -> [(descriptor: Int32, size: Int64)]? {
        var files: [(descriptor: Int32, size: Int64)] = []
        files.reserveCapacity(segments.count)
        do throws(StoreError) {
            for segment in segments {
                guard let descriptor = try FileIO.openForReadingIfExists(layout.blobPath(segment.blob)) else {
                    for file in files { FileIO.close(file.descriptor) }
                    return nil
                }
                files.append((descriptor, segment.size))
                guard try FileIO.size(descriptor) == ObjectReader.fileSize(plainSize: segment.size, encrypted: encrypted) else {
                    throw StoreError(.internalError, "The object's data does not have the size the index records.")
                }
            }
            return files
        } catch {
            for file in files { FileIO.close(file.descriptor) }
            throw error
        }
    }

    /// Writes bytes `range` of `reader` into `sink`, a MiB at a time; on failure aborts the sink.
    func copy(_ reader: ObjectReader, _ range: Range<Int64>, into sink: UploadSink) async throws(StoreError) {
        do throws(StoreError) {
            var offset = range.lowerBound
            while offset < range.upperBound {
                let bytes = try await reader.read(offset: offset, count: Int(min(1 << 20, range.upperBound - offset)))
                guard !bytes.isEmpty else { throw StoreError(.internalError, "The source object's data ended early.") }
                try await sink.write(bytes)
                offset += Int64(bytes.count)
            }
        } catch {
            await abort(sink)
            throw error
        }
    }

    // MARK: The publishing transaction

    /// The values of a new object row.
    struct NewObjectRow: Sendable {
        /// The blob holding the bytes; with `segments`, the first of them (it names the set:
        /// rows sharing it share all the segments).
        let blob: String
        /// The blobs holding the bytes in order, for a completed multipart upload; `nil` when `blob` holds them all.
        let segments: [Segment]?
        let size: Int64
        let etag: String
        let sha256: [UInt8]?
        let lastModified: Int64
        let metadata: String

        func info(bucket: String, key: String, metadata: ObjectMetadata, versionId: String? = nil) -> ObjectInfo {
            ObjectInfo(
                bucket: bucket,
                key: key,
                size: size,
                etag: etag,
                lastModified: Date(timeIntervalSince1970: TimeInterval(lastModified)),
                metadata: metadata,
                versionId: versionId
            )
        }
    }

    /// What ``publishLatest(_:bucketID:key:row:condition:event:)`` did.
    struct Published {
        /// Blob files no row references any more (the replaced object's blob or segments):
        /// the caller removes them after the commit.
        let orphans: [String]
        /// The new version's id (`null` when suspended); `nil` in a bucket never versioned.
        let versionId: String?
    }

    /// Makes `row` the latest object at `key`, inside the caller's write transaction.
    ///
    /// This is the one place where an object becomes visible: the condition
    /// check, the replacement of the previous latest row, the noncurrent-version
    /// bookkeeping and the events-outbox rows all belong here, so they commit or
    /// roll back together.
    ///
    /// - In a bucket never versioned, the previous object (the `null` version) is replaced.
    /// - With versioning `Enabled`, the previous latest version stays, no longer latest,
    ///   and the new row gets a new version id.
    /// - With versioning `Suspended`, the previous latest stays (no longer latest) unless it
    ///   is the `null` version: the `null` version, wherever it is, is replaced by the new row.
    ///
    /// - Returns: The replaced object's files when no row references them any more (the caller
    ///   removes them after the transaction commits), and the new version's id.
    /// - Throws: `PreconditionFailed` when `condition` does not hold.
    static func publishLatest(
        _ db: Database,
        bucketID: Int64,
        key: String,
        row: NewObjectRow,
        condition: WriteCondition,
        event: ObjectEvent
    ) throws -> Published {
        let keyBytes = Data(key.utf8)
        let existing = try Row.fetchOne(db, sql: """
            SELECT id, blob, segments, etag, is_delete_marker FROM object WHERE bucket_id = ? AND key = ? AND is_latest = 1
            """, arguments: [bucketID, keyBytes])
        let currentETag: String? = try existing.flatMap { existing in
            try existing.decode(Bool.self, forColumn: "is_delete_marker") ? nil : try existing.decode(String.self, forColumn: "etag")
        }
        switch condition {
        case .none:
            break
        case .ifNoneMatchAny:
            guard currentETag == nil else {
                throw StoreError(.preconditionFailed, "At least one of the pre-conditions you specified did not hold: an object exists at this key.")
            }
        case .ifMatch(let expected):
            guard let currentETag, ETag.matches(expected, currentETag) else {
                throw StoreError(.preconditionFailed, "At least one of the pre-conditions you specified did not hold: the object's ETag differs.")
            }
        }
        let status = try versioningStatus(db, bucketID: bucketID)
        let versionId = status == .enabled ? VersionID.make() : VersionID.null
        var replaced: Row?
        if status == nil {
            if let existing {
                try db.execute(sql: "DELETE FROM object WHERE id = ?", arguments: [try existing.decode(Int64.self, forColumn: "id")])
                replaced = existing
            }
        } else {
            if let existing {
                try db.execute(sql: "UPDATE object SET is_latest = 0 WHERE id = ?", arguments: [try existing.decode(Int64.self, forColumn: "id")])
            }
            if status == .suspended {
                replaced = try removeNullVersion(db, bucketID: bucketID, key: keyBytes)
            }
        }
        try db.execute(sql: """
            INSERT INTO object (bucket_id, key, version_id, blob, segments, size, etag, sha256, last_modified, metadata)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [bucketID, keyBytes, versionId, row.blob, row.segments.map(Segment.encode), row.size, row.etag,
                             row.sha256.map { Data($0) }, row.lastModified, row.metadata])
        try emit(db, event, bucketID: bucketID, key: key, size: row.size, etag: row.etag, versionId: status == nil ? nil : versionId)
        return Published(orphans: try unreferencedFiles(db, of: replaced), versionId: status == nil ? nil : versionId)
    }

    /// Removes the `null` version of `key` (an object or a delete marker), if there is one.
    ///
    /// - Returns: The removed row's `blob` and `segments` columns (`nil` when there was no row);
    ///   its files may still be referenced.
    static func removeNullVersion(_ db: Database, bucketID: Int64, key: Data) throws -> Row? {
        try Row.fetchOne(db, sql: """
            DELETE FROM object WHERE bucket_id = ? AND key = ? AND version_id = ? RETURNING blob, segments
            """, arguments: [bucketID, key, VersionID.null])
    }

    /// The files of a removed object row (read with its `blob` and `segments` columns) when no
    /// object row references them any more, else none.
    ///
    /// Rows share files only by copying a whole row, so the `blob` column alone tells whether
    /// they are in use: with segments it is the first one, a part blob that names the set.
    static func unreferencedFiles(_ db: Database, of removed: Row?) throws -> [String] {
        guard let removed, let blob = try removed.decode(String?.self, forColumn: "blob") else { return [] }
        let referenced = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM object WHERE blob = ?)", arguments: [blob]) ?? true
        return referenced ? [] : try Segment.files(of: removed)
    }

    /// Removes a blob file that a committed transaction left unreferenced (on the thread pool).
    ///
    /// No flush needed: if the removal is lost in a crash, the next start removes the orphan.
    func removeBlob(_ blob: String?) async {
        await removeBlobs(blob.map { [$0] } ?? [])
    }

    /// Removes blob files that a committed transaction left unreferenced, like ``removeBlob(_:)``.
    func removeBlobs(_ blobs: [String]) async {
        // Blobs an open reader still needs wait for it (``BlobPins``).
        let paths = pins.removable(blobs).filter(StoreLayout.isBlobName).map(layout.blobPath)
        guard !paths.isEmpty else { return }
        await FileIO.offloadCleanup {
            for path in paths { FileIO.removeIfExists(path) }
        }
    }

    /// The latest, non-deleted object at `bucket`/`key`.
    ///
    /// - Throws: `NoSuchBucket`, `NoSuchKey`.
    static func currentObject(_ db: Database, bucket: String, key: String) throws -> StoredObject {
        try storedObject(db, bucket: bucket, key: key, versionId: nil)
    }

    /// The object at `bucket`/`key`: the latest when `versionId` is `nil`, else that version.
    ///
    /// - Parameter withSegments: Whether to read the segment list too (reading and copying need it, HEAD does not).
    /// - Throws: `NoSuchBucket`; `NoSuchKey` when there is no latest object or it is a
    ///   delete marker (flagged ``StoreError/isDeleteMarker``); `NoSuchVersion`; `MethodNotAllowed`
    ///   when the version asked for is a delete marker.
    static func storedObject(
        _ db: Database, bucket: String, key: String, versionId: String?, withSegments: Bool = true
    ) throws -> StoredObject {
        // One row if the bucket exists; the object columns are NULL when the key (or version) does not.
        let match = versionId == nil ? "o.is_latest = 1" : "o.version_id = ?"
        var arguments: StatementArguments = [versioningName, Data(key.utf8)]
        if let versionId { arguments += [versionId] }
        arguments += [bucket]
        guard let row = try Row.fetchOne(db, sql: """
            SELECT b.id AS bucket_id, o.id AS object_id, o.is_delete_marker, o.version_id,
                   EXISTS (SELECT 1 FROM bucket_configuration c WHERE c.bucket_id = b.id AND c.name = ?) AS versioned,
                   \(withSegments ? StoredObject.columnsWithSegments : StoredObject.columns)
            FROM bucket b
            LEFT JOIN object o ON o.bucket_id = b.id AND o.key = ? AND \(match)
            WHERE b.name = ?
            """, arguments: arguments)
        else { throw StoreError.noSuchBucket(bucket) }
        guard try row.decode(Int64?.self, forColumn: "object_id") != nil else {
            throw versionId == nil ? StoreError.noSuchKey : StoreError.noSuchVersion
        }
        let versioned = try row.decode(Bool.self, forColumn: "versioned")
        let rowVersion = try row.decode(String.self, forColumn: "version_id")
        let shownVersion = versioned || versionId != nil ? rowVersion : nil
        if try row.decode(Bool.self, forColumn: "is_delete_marker") {
            var error = versionId == nil
                ? StoreError.noSuchKey
                : StoreError(.methodNotAllowed, "The specified method is not allowed against this resource.")
            error.isDeleteMarker = true
            error.versionId = shownVersion
            throw error
        }
        return try StoredObject(
            row: row,
            bucket: bucket,
            key: key,
            bucketID: try row.decode(Int64.self, forColumn: "bucket_id"),
            decoder: JSONDecoder(),
            versionId: shownVersion
        )
    }
}
