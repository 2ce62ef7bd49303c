import Crypto
import Foundation
import GRDB
import HoistSupport

extension StorageEngine {
    /// The smallest size of every part but the last of a completed upload (S3: 5 MiB).
    public static let minimumPartSize: Int64 = 5 * 1024 * 1024
    /// The largest part (S3: 5 GiB).
    public static let maximumPartSize: Int64 = 5 * 1024 * 1024 * 1024
    /// The part numbers S3 allows.
    public static let partNumbers = 1...10_000

    // MARK: Creating and aborting

    /// Starts a multipart upload to `bucket`/`key`; nothing is visible until it is completed.
    ///
    /// - Parameters:
    ///   - metadata: What the completed object will carry (its `checksumSHA256` is ignored:
    ///     parts carry their own checksums).
    ///   - serverSideEncryption: Encrypt the parts at rest (SSE-S3); they are also encrypted when
    ///     the bucket encrypts by default. The upload's metadata says which.
    /// - Returns: The upload, with a new random upload id.
    /// - Throws: `NoSuchBucket`, `KeyTooLongError`, `InvalidArgument` (empty key), `InternalError`.
    public func createMultipartUpload(bucket: String, key: String, metadata: ObjectMetadata,
                                      serverSideEncryption: Bool = false) async throws(StoreError) -> MultipartUploadInfo {
        try ObjectKey.validate(key)
        var metadata = metadata
        metadata.checksumSHA256 = nil
        metadata.serverSideEncryption = nil
        let uploadId = StoreLayout.newBlobName() + StoreLayout.newBlobName()
        let now = currentSeconds()
        let plain = try MetadataCoding.encode(metadata)
        var encryptedMetadata = metadata
        encryptedMetadata.serverSideEncryption = ObjectMetadata.aes256
        let encrypted = try MetadataCoding.encode(encryptedMetadata)
        let encrypts = try await write("create the multipart upload") { db -> Bool in
            guard let found = try Self.bucketEncryption(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            let encrypts = serverSideEncryption || found.encrypts
            try db.execute(sql: """
                INSERT INTO multipart_upload (upload_id, bucket_id, key, initiated, metadata) VALUES (?, ?, ?, ?, ?)
                """, arguments: [uploadId, found.id, Data(key.utf8), now, encrypts ? encrypted : plain])
            return encrypts
        }
        if encrypts { metadata = encryptedMetadata }
        return MultipartUploadInfo(bucket: bucket, key: key, uploadId: uploadId,
                                   initiated: Date(timeIntervalSince1970: TimeInterval(now)), metadata: metadata)
    }

    /// Abandons a multipart upload: forgets it and removes its parts' blobs.
    ///
    /// - Throws: `NoSuchBucket`, `NoSuchUpload`, `InternalError`.
    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws(StoreError) {
        let blobs = try await write("abort the multipart upload") { db -> [String] in
            let upload = try Self.uploadRow(db, bucket: bucket, key: key, uploadId: uploadId)
            return try Self.deleteUpload(db, row: upload.id)
        }
        await removeBlobs(blobs)
    }

    // MARK: Parts

    /// Starts a part's upload for upload `uploadId` of `bucket`/`key`, like ``beginUpload(bucket:serverSideEncryption:)``;
    /// the part is encrypted at rest when the upload is.
    ///
    /// - Parameter computesSHA256: `false` when the client promised no SHA-256 (no signed
    ///   payload hash, no `x-amz-checksum-sha256`): the part's MD5 (its ETag) is all that is
    ///   needed, and skipping the SHA-256 halves the hashing work of a part.
    /// - Throws: `NoSuchBucket`, `NoSuchUpload` (before any byte is read); `InternalError` if the
    ///   temporary file cannot be created.
    public func beginPartUpload(bucket: String, key: String, uploadId: String, computesSHA256: Bool) async throws(StoreError) -> UploadSink {
        let encrypts = try await read("look up the multipart upload") { db in
            try Self.uploadRow(db, bucket: bucket, key: key, uploadId: uploadId).encrypts
        }
        let layout = layout
        let master = encrypts ? masterKey : nil
        return try await FileIO.offload { () throws(StoreError) in
            try UploadSink(layout: layout, computesSHA256: computesSHA256, encryptedWith: master)
        }
    }

    /// Publishes an uploaded body as part `partNumber` of an upload, replacing
    /// a part of that number if there is one.
    ///
    /// Like ``commit(_:bucket:key:metadata:condition:)``: the part's file is
    /// flushed and renamed into the blobs before the index row is written, so
    /// an acknowledged part survives a crash. The sink is used up, whatever the outcome.
    ///
    /// - Parameters:
    ///   - sink: The part's bytes, from ``beginUpload(bucket:)``.
    ///   - checksumSHA256: The base64 SHA-256 the client sent; checked against the bytes.
    /// - Returns: The part.
    /// - Throws: `NoSuchBucket`, `NoSuchUpload`, `InvalidArgument` (part number, used sink),
    ///   `EntityTooLarge` (over 5 GiB), `BadDigest` (checksum), `InternalError`.
    public func commitPart(
        _ sink: UploadSink,
        bucket: String,
        key: String,
        uploadId: String,
        partNumber: Int,
        checksumSHA256: String? = nil
    ) async throws(StoreError) -> PartInfo {
        guard sink.layout == layout else {
            throw StoreError(.invalidArgument, "The upload belongs to another store.")
        }
        guard Self.partNumbers.contains(partNumber) else {
            await sink.discardAndRemove()
            throw Self.invalidPartNumber
        }
        let (size, digests) = try await sink.seal()
        let blobPath = layout.blobPath(sink.blobName)
        let renamed = Renamed()
        defer { sink.markFinished() }
        do throws(StoreError) {
            guard size <= Self.maximumPartSize else {
                throw StoreError(.entityTooLarge, "Your proposed upload exceeds the maximum allowed size (5 GiB for a part).")
            }
            if let checksumSHA256, digests.sha256.isEmpty || checksumSHA256 != digests.sha256Base64 {
                throw StoreError(.badDigest, "The SHA256 you specified did not match the calculated checksum.")
            }
            try await publishFile(of: sink, at: blobPath, renamed: renamed)
            let now = currentSeconds()
            let blobName = sink.blobName
            let encrypted = sink.isEncrypted
            let replaced = try await write("store the part") { db -> String? in
                let upload = try Self.uploadRow(db, bucket: bucket, key: key, uploadId: uploadId)
                guard try upload.encrypts == encrypted else {
                    throw StoreError(.invalidArgument, "The part was not written with the upload's encryption at rest: start it with beginPartUpload.")
                }
                let previous = try String.fetchOne(db, sql: """
                    SELECT blob FROM multipart_part WHERE upload_row = ? AND part_number = ?
                    """, arguments: [upload.id, partNumber])
                try db.execute(sql: """
                    INSERT OR REPLACE INTO multipart_part (upload_row, part_number, blob, size, etag, sha256, last_modified)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [upload.id, partNumber, blobName, size, digests.md5Hex,
                                     digests.sha256.isEmpty ? nil : Data(digests.sha256), now])
                return previous
            }
            await removeBlob(replaced)
            return PartInfo(partNumber: partNumber, size: size, etag: digests.md5Hex,
                            lastModified: Date(timeIntervalSince1970: TimeInterval(now)),
                            checksumSHA256: digests.sha256.isEmpty ? nil : digests.sha256Base64)
        } catch {
            let leftover = renamed.value ? blobPath : sink.tmpPath
            await FileIO.offloadCleanup { FileIO.removeIfExists(leftover) }
            throw error
        }
    }

    /// UploadPartCopy: makes (a byte range of) an existing object part `partNumber` of an upload.
    ///
    /// The bytes are streamed into a new part blob, in bounded chunks.
    ///
    /// - Parameters:
    ///   - range: The inclusive byte range of the source; `nil` for all of it.
    /// - Returns: The part.
    /// - Throws: `NoSuchBucket`, `NoSuchKey`, `NoSuchUpload`, `InvalidArgument` (range, part number),
    ///   `EntityTooLarge`, `InternalError`.
    public func copyPart(
        bucket: String,
        key: String,
        uploadId: String,
        partNumber: Int,
        fromBucket: String,
        fromKey: String,
        fromVersionId: String? = nil,
        range: ClosedRange<Int64>? = nil
    ) async throws(StoreError) -> PartInfo {
        guard Self.partNumbers.contains(partNumber) else { throw Self.invalidPartNumber }
        let (info, reader) = try await open(bucket: fromBucket, key: fromKey, versionId: fromVersionId)
        defer { reader.close() }
        let wanted = range ?? 0...max(0, info.size - 1)
        if let range, range.lowerBound < 0 || range.upperBound >= info.size {
            throw StoreError(.invalidArgument, "Range specified is not valid for source object of size: \(info.size)")
        }
        let sink = try await beginPartUpload(bucket: bucket, key: key, uploadId: uploadId, computesSHA256: true)
        try await copy(reader, info.size == 0 ? 0..<0 : wanted.lowerBound..<(wanted.upperBound + 1), into: sink)
        return try await commitPart(sink, bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber)
    }

    /// ListParts: the parts of an upload after `partNumberMarker`, by number.
    ///
    /// - Throws: `NoSuchBucket`, `NoSuchUpload`, `InternalError`.
    public func listParts(
        bucket: String,
        key: String,
        uploadId: String,
        partNumberMarker: Int = 0,
        maxParts: Int = 1000
    ) async throws(StoreError) -> PartListing {
        let limit = max(0, min(maxParts, 1000))
        return try await read("list the parts") { db in
            let upload = try Self.uploadRow(db, bucket: bucket, key: key, uploadId: uploadId)
            let rows = try Row.fetchAll(db, sql: """
                SELECT part_number, size, etag, sha256, last_modified FROM multipart_part
                WHERE upload_row = ? AND part_number > ? ORDER BY part_number LIMIT ?
                """, arguments: [upload.id, partNumberMarker, limit + 1])
            let parts = try rows.prefix(limit).map(Self.partInfo)
            return PartListing(upload: try upload.info(bucket: bucket, key: key, uploadId: uploadId),
                               parts: Array(parts), isTruncated: rows.count > limit)
        }
    }

    /// ListMultipartUploads: uploads in progress in `bucket`, by key then upload id.
    ///
    /// - Parameters:
    ///   - prefix: Only keys starting with it.
    ///   - keyMarker: Start after this key, or (with `uploadIdMarker`) after that upload of this key.
    ///   - maxUploads: At most this many (capped at 1000).
    /// - Throws: `NoSuchBucket`, `InternalError`.
    public func listMultipartUploads(
        bucket: String,
        prefix: String = "",
        keyMarker: String? = nil,
        uploadIdMarker: String? = nil,
        maxUploads: Int = 1000
    ) async throws(StoreError) -> MultipartUploadListing {
        let limit = max(0, min(maxUploads, 1000))
        let prefixBytes = Data(prefix.utf8)
        return try await read("list the multipart uploads") { db in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            var sql = """
                SELECT upload_id, key, initiated, metadata FROM multipart_upload
                WHERE bucket_id = ? AND substr(key, 1, ?) = ?
                """
            var arguments: StatementArguments = [bucketID, prefixBytes.count, prefixBytes]
            if let keyMarker {
                let markerBytes = Data(keyMarker.utf8)
                if let uploadIdMarker, !uploadIdMarker.isEmpty {
                    sql += " AND (key > ? OR (key = ? AND upload_id > ?))"
                    arguments += [markerBytes, markerBytes, uploadIdMarker]
                } else {
                    sql += " AND key > ?"
                    arguments += [markerBytes]
                }
            }
            sql += " ORDER BY key, upload_id LIMIT ?"
            arguments += [limit + 1]
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments)
            let decoder = JSONDecoder()
            let uploads = try rows.prefix(limit).map { row in
                MultipartUploadInfo(
                    bucket: bucket,
                    key: String(decoding: try row.decode(Data.self, forColumn: "key"), as: UTF8.self),
                    uploadId: try row.decode(String.self, forColumn: "upload_id"),
                    initiated: Date(timeIntervalSince1970: TimeInterval(try row.decode(Int64.self, forColumn: "initiated"))),
                    metadata: try MetadataCoding.decode(try row.decode(String.self, forColumn: "metadata"), with: decoder)
                )
            }
            return MultipartUploadListing(uploads: uploads, isTruncated: rows.count > limit)
        }
    }

    // MARK: Completing

    /// CompleteMultipartUpload: makes the named parts one object at the upload's key.
    ///
    /// Checks the list (ascending numbers: `InvalidPartOrder`; every part present with
    /// the ETag given: `InvalidPart`; all but the last at least 5 MiB: `EntityTooSmall`).
    /// No bytes are copied: the parts' blobs, flushed when each part was committed,
    /// become the object's segments, in the list's order (a one-part object is an
    /// ordinary one-blob object). In ONE transaction it checks the parts are still the
    /// ones checked, publishes the object through
    /// ``publishLatest(_:bucketID:key:row:condition:event:)`` and forgets the upload;
    /// afterwards it removes the blobs of parts left out of the list (and the replaced
    /// object's files). Atomic like a PUT: a failure leaves the upload and its parts as they were.
    ///
    /// - Returns: The object; its ETag is `<md5 of the parts' MD5s>-<count>`.
    /// - Throws: `NoSuchBucket`, `NoSuchUpload`, `InvalidPart`, `InvalidPartOrder`,
    ///   `EntityTooSmall`, `PreconditionFailed`, `InternalError`.
    public func completeMultipartUpload(
        bucket: String,
        key: String,
        uploadId: String,
        parts: [CompletedPart],
        condition: WriteCondition = .none
    ) async throws(StoreError) -> ObjectInfo {
        guard !parts.isEmpty else {
            throw StoreError(.invalidPart, "You must specify at least one part.")
        }
        for index in parts.indices.dropFirst() where parts[index].partNumber <= parts[index - 1].partNumber {
            throw StoreError(.invalidPartOrder, "The list of parts was not in ascending order. Parts must be ordered by part number.")
        }
        struct Chosen { let number: Int; let blob: String; let size: Int64; let etag: String }
        let listed = Self.partList(parts)
        let upload: UploadRow, chosen: [Chosen]
        do {
            (upload, chosen) = try await read("read the multipart upload") { db -> (UploadRow, [Chosen]) in
            let upload = try Self.uploadRow(db, bucket: bucket, key: key, uploadId: uploadId)
            var stored: [Int: Chosen] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT part_number, blob, size, etag FROM multipart_part WHERE upload_row = ?",
                                        arguments: [upload.id]) {
                let number = try row.decode(Int.self, forColumn: "part_number")
                stored[number] = Chosen(number: number, blob: try row.decode(String.self, forColumn: "blob"),
                                        size: try row.decode(Int64.self, forColumn: "size"), etag: try row.decode(String.self, forColumn: "etag"))
            }
            // Every part must exist with its ETag (InvalidPart) before sizes are looked at (EntityTooSmall).
            let chosen = try parts.map { part in
                guard let found = stored[part.partNumber], ETagText.unquote(part.etag).lowercased() == found.etag else {
                    throw StoreError(.invalidPart, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.")
                }
                return found
            }
            for part in chosen.dropLast() where part.size < Self.minimumPartSize {
                throw StoreError(.entityTooSmall, "Your proposed upload is smaller than the minimum allowed size.")
            }
            return (upload, chosen)
            }
        } catch {
            // A retry of a completion that succeeded (its response was lost) gets the same answer.
            guard error.code == .noSuchUpload,
                  let done = try await completedUpload(bucket: bucket, key: key, uploadId: uploadId, listed: listed)
            else { throw error }
            return done
        }
        let metadata = try MetadataCoding.decode(upload.metadata, with: JSONDecoder())

        // The multipart ETag: MD5 of the concatenated binary part MD5s, then the count.
        var md5 = Insecure.MD5()
        for part in chosen { md5.update(data: Hex.decodeLowercase(ETagText.unquote(part.etag).lowercased()) ?? []) }
        let etag = Hex.encode(md5.finalize()) + "-\(chosen.count)"
        let size = chosen.reduce(Int64(0)) { $0 + $1.size }

        // The parts' blobs become the object's segments; the first names the set.
        let segments = chosen.map { Segment(blob: $0.blob, size: $0.size) }
        let row = NewObjectRow(blob: chosen[0].blob, segments: segments.count > 1 ? segments : nil, size: size, etag: etag,
                               sha256: nil, lastModified: currentSeconds(), metadata: upload.metadata)
        let event = objectEvent("ObjectCreated:CompleteMultipartUpload")
        let (published, unused) = try await write("complete the multipart upload") { db -> (Published, [String]) in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            let current = try Self.uploadRow(db, bucket: bucket, key: key, uploadId: uploadId)
            for part in chosen {
                let blob = try String.fetchOne(db, sql: "SELECT blob FROM multipart_part WHERE upload_row = ? AND part_number = ?",
                                               arguments: [current.id, part.number])
                guard blob == part.blob else {
                    throw StoreError(.invalidPart, "Part \(part.number) was replaced while the upload was being completed.")
                }
            }
            let published = try Self.publishLatest(db, bucketID: bucketID, key: key, row: row, condition: condition, event: event)
            try db.execute(sql: "DELETE FROM completed_upload WHERE completed_at < ?", arguments: [row.lastModified - Self.completionMemory])
            try db.execute(sql: """
                INSERT OR REPLACE INTO completed_upload (upload_id, bucket_id, key, parts, etag, size, version_id, metadata, completed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [uploadId, bucketID, Data(key.utf8), listed, etag, size, published.versionId, upload.metadata, row.lastModified])
            let kept = Set(segments.map(\.blob))
            return (published, try Self.deleteUpload(db, row: current.id).filter { !kept.contains($0) })
        }
        eventGeneration.add(1, ordering: .releasing)
        await removeBlobs(published.orphans + unused)
        return row.info(bucket: bucket, key: key, metadata: metadata, versionId: published.versionId)
    }

    /// How long, in seconds, a completion answers a retry of itself: a day.
    static let completionMemory: Int64 = 86_400

    /// A completion's part list as `completed_upload.parts` keeps it: one "<number> <etag>" line per part.
    static func partList(_ parts: [CompletedPart]) -> String {
        parts.map { "\($0.partNumber) \(ETagText.unquote($0.etag).lowercased())" }.joined(separator: "\n")
    }

    /// The object a recent completion of `uploadId` with the same key and part list made; `nil` if there was none.
    func completedUpload(bucket: String, key: String, uploadId: String, listed: String) async throws(StoreError) -> ObjectInfo? {
        let oldest = currentSeconds() - Self.completionMemory
        return try await read("read the completed upload") { db -> ObjectInfo? in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            guard let row = try Row.fetchOne(db, sql: """
                SELECT parts, etag, size, version_id, metadata, completed_at FROM completed_upload
                WHERE upload_id = ? AND bucket_id = ? AND key = ? AND completed_at >= ?
                """, arguments: [uploadId, bucketID, Data(key.utf8), oldest]),
                try row.decode(String.self, forColumn: "parts") == listed
            else { return nil }
            return ObjectInfo(
                bucket: bucket, key: key,
                size: try row.decode(Int64.self, forColumn: "size"),
                etag: try row.decode(String.self, forColumn: "etag"),
                lastModified: Date(timeIntervalSince1970: TimeInterval(try row.decode(Int64.self, forColumn: "completed_at"))),
                metadata: try MetadataCoding.decode(try row.decode(String.self, forColumn: "metadata"), with: JSONDecoder()),
                versionId: try row.decode(String?.self, forColumn: "version_id")
            )
        }
    }

    // MARK: Helpers

    static let invalidPartNumber = StoreError(.invalidArgument, "Part number must be an integer between 1 and 10000, inclusive.")

    /// An upload's index row.
    struct UploadRow {
        let id: Int64
        let initiated: Int64
        let metadata: String

        /// Whether the upload's parts are encrypted at rest (its metadata says `AES256`).
        var encrypts: Bool {
            get throws { try MetadataCoding.decode(metadata, with: JSONDecoder()).serverSideEncryption != nil }
        }

        func info(bucket: String, key: String, uploadId: String) throws -> MultipartUploadInfo {
            MultipartUploadInfo(bucket: bucket, key: key, uploadId: uploadId,
                                initiated: Date(timeIntervalSince1970: TimeInterval(initiated)),
                                metadata: try MetadataCoding.decode(metadata, with: JSONDecoder()))
        }
    }

    /// The upload `uploadId` of `bucket`/`key`.
    ///
    /// - Throws: `NoSuchBucket`, `NoSuchUpload` (also when the id belongs to another key).
    static func uploadRow(_ db: Database, bucket: String, key: String, uploadId: String) throws -> UploadRow {
        guard let bucketID = try bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
        guard let row = try Row.fetchOne(db, sql: """
            SELECT id, initiated, metadata FROM multipart_upload WHERE upload_id = ? AND bucket_id = ? AND key = ?
            """, arguments: [uploadId, bucketID, Data(key.utf8)])
        else { throw StoreError.noSuchUpload }
        return UploadRow(id: try row.decode(Int64.self, forColumn: "id"),
                         initiated: try row.decode(Int64.self, forColumn: "initiated"),
                         metadata: try row.decode(String.self, forColumn: "metadata"))
    }

    /// Deletes an upload and its parts' rows; returns the parts' blobs, for the caller to remove after the commit.
    static func deleteUpload(_ db: Database, row: Int64) throws -> [String] {
        let blobs = try String.fetchAll(db, sql: "SELECT blob FROM multipart_part WHERE upload_row = ?", arguments: [row])
        try db.execute(sql: "DELETE FROM multipart_part WHERE upload_row = ?", arguments: [row])
        try db.execute(sql: "DELETE FROM multipart_upload WHERE id = ?", arguments: [row])
        return blobs
    }

    static func partInfo(_ row: Row) throws -> PartInfo {
        PartInfo(
            partNumber: try row.decode(Int.self, forColumn: "part_number"),
            size: try row.decode(Int64.self, forColumn: "size"),
            etag: try row.decode(String.self, forColumn: "etag"),
            lastModified: Date(timeIntervalSince1970: TimeInterval(try row.decode(Int64.self, forColumn: "last_modified"))),
            checksumSHA256: try row.decode(Data?.self, forColumn: "sha256")?.base64EncodedString()
        )
    }
}
