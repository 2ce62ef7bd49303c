import Foundation
import GRDB
import Synchronization

/// The embedded object store's storage engine: buckets and objects on the local disk.
///
/// Bytes live in immutable blob files with generated names; a SQLite index
/// (WAL, `synchronous=FULL`) maps (bucket, key) to a blob (or, for a completed
/// multipart upload, to its parts' blobs in order) with the object's size, ETag
/// and metadata (see ``StoreLayout`` and ``IndexSchema``). The
/// engine knows nothing of HTTP: the S3 layer calls it and renders its
/// ``StoreError``s.
///
/// Guarantees:
/// - an acknowledged write survives a crash: a commit flushes the bytes and
///   their directory entry before the index transaction, which SQLite flushes;
/// - an upload is either fully there or not there: the index row, written last
///   in one transaction, is what makes an object visible;
/// - readers are never disturbed by writers: blobs are never modified, only
///   replaced, and a reader holds its file open.
///
/// The type is `Sendable` and meant to be shared by every request. Its calls
/// are `async` and never block a thread of Swift's cooperative pool: SQLite
/// reads go through GRDB's async readers (a pool of reader connections), writes
/// through GRDB's async single writer, and file work (`open`, `pread`, `pwrite`,
/// `fsync`, `rename`, `unlink`) runs on NIO's thread pool. Only ``init(directory:clock:region:)``
/// blocks: it recovers the store before anything is served.
///
/// ```swift
/// let engine = try StorageEngine(directory: URL(fileURLWithPath: "hoist-data/store"))
/// try await engine.createBucket("photos")
/// let sink = try await engine.beginUpload(bucket: "photos")
/// try await sink.write(bytes)
/// let info = try await engine.commit(sink, bucket: "photos", key: "cats/1.jpg", metadata: ObjectMetadata(contentType: "image/jpeg"))
/// ```
public final class StorageEngine: Sendable {
    /// Where the store's files are.
    let layout: StoreLayout
    /// The index.
    let database: DatabasePool
    /// Gives the time of writes.
    let clock: @Sendable () -> Date
    /// Holds the store's lock file, so that a second engine cannot open the same directory.
    private let lockDescriptor: Int32
    /// Blobs that readers of objects in many segments still need (see ``BlobPins``).
    let pins = BlobPins()
    /// The region written into event notifications.
    let region: String
    /// Bumped after every transaction that may have added outbox events: waiting receivers look again.
    let eventGeneration = Atomic<Int>(0)
    /// Wraps the data keys of encrypted blobs (see ``BlobKey``); `<directory>/master.key`.
    let masterKey: MasterKey

    /// Opens (creating if needed) the store in `directory`: SQLite index (WAL,
    /// `synchronous=FULL`), blob folder, tmp folder.
    ///
    /// Removes leftover temporary files and blobs no index row references (crash
    /// leftovers). Takes an exclusive lock on the directory for the engine's lifetime.
    /// Reads the master key of encryption at rest, `master.key` (mode 0600), making it on the first start.
    ///
    /// - Parameters:
    ///   - directory: The store's folder; created with its parents when missing.
    ///   - clock: Gives the time of writes (`lastModified`, bucket creation), truncated to seconds.
    ///   - region: The `awsRegion` of event notifications.
    /// - Throws: `InternalError` when the directory is in use by another engine, or
    ///   cannot be created; errors of the file system or of SQLite opening the index.
    public init(directory: URL, clock: @escaping @Sendable () -> Date = { Date() }, region: String = "us-east-1") throws {
        // Synchronous on purpose: start-up recovery runs once, before anything is served.
        let layout = StoreLayout(directory: directory)
        try FileManager.default.createDirectory(atPath: layout.directory, withIntermediateDirectories: true)
        let lockDescriptor = try FileIO.lockExclusively(layout.lockPath)
        do {
            try Self.makeDirectories(layout)
            let masterKey = try MasterKey.loadOrCreate(layout)
            var configuration = Configuration()
            configuration.label = "hoist.store"
            let database = try DatabasePool(path: layout.indexPath, configuration: configuration)
            // GRDB sets `synchronous = NORMAL` when it turns WAL on; the writer
            // connection lives as long as the pool, so this setting sticks.
            try database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            try IndexSchema.migrator.migrate(database)
            try Self.removeLeftovers(layout, database)
            try Self.releaseReceivedEvents(database)
            self.layout = layout
            self.database = database
            self.clock = clock
            self.lockDescriptor = lockDescriptor
            self.region = region
            self.masterKey = masterKey
        } catch {
            FileIO.close(lockDescriptor)
            throw error
        }
    }

    deinit {
        FileIO.close(lockDescriptor)
    }

    // MARK: Buckets

    /// Creates a bucket.
    ///
    /// - Parameter name: The bucket's name, following S3's naming rules.
    /// - Throws: `InvalidBucketName`, `BucketAlreadyOwnedByYou`.
    public func createBucket(_ name: String) async throws(StoreError) {
        try BucketName.validate(name)
        let now = currentSeconds()
        try await write("create the bucket") { db in
            guard try Self.bucketID(db, name) == nil else {
                throw StoreError(.bucketAlreadyOwnedByYou, "Your previous request to create the named bucket succeeded and you already own it.")
            }
            try db.execute(sql: "INSERT INTO bucket (name, created_at) VALUES (?, ?)", arguments: [name, now])
        }
    }

    /// Deletes a bucket that holds no objects (and no versions or delete markers), with its
    /// configuration.
    ///
    /// As on S3, multipart uploads in progress do not keep a bucket from being deleted: they
    /// go with it, and their parts' files are removed after the commit.
    ///
    /// - Throws: `NoSuchBucket`, `BucketNotEmpty`.
    public func deleteBucket(_ name: String) async throws(StoreError) {
        let blobs = try await write("delete the bucket") { db -> [String] in
            guard let id = try Self.bucketID(db, name) else { throw StoreError.noSuchBucket(name) }
            let hasObjects = try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM object WHERE bucket_id = ?)", arguments: [id]) ?? false
            guard !hasObjects else {
                throw StoreError(.bucketNotEmpty, "The bucket you tried to delete is not empty.")
            }
            var blobs: [String] = []
            for upload in try Int64.fetchAll(db, sql: "SELECT id FROM multipart_upload WHERE bucket_id = ?", arguments: [id]) {
                blobs += try Self.deleteUpload(db, row: upload)
            }
            try db.execute(sql: "DELETE FROM bucket WHERE id = ?", arguments: [id])
            return blobs
        }
        await removeBlobs(blobs)
    }

    /// The bucket called `name`.
    ///
    /// - Throws: `NoSuchBucket`.
    public func bucket(_ name: String) async throws(StoreError) -> BucketInfo {
        let info = try await read("read the bucket") { db in
            try Row.fetchOne(db, sql: "SELECT name, created_at FROM bucket WHERE name = ?", arguments: [name])
                .map(Self.bucketInfo)
        }
        guard let info else { throw StoreError.noSuchBucket(name) }
        return info
    }

    /// All buckets, sorted by name.
    public func listBuckets() async throws(StoreError) -> [BucketInfo] {
        try await read("list the buckets") { db in
            try Row.fetchAll(db, sql: "SELECT name, created_at FROM bucket ORDER BY name").map(Self.bucketInfo)
        }
    }

    /// A bucket configuration document, as the HTTP layer stored it.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - name: Which configuration, e.g. `cors`.
    /// - Returns: The stored bytes, or `nil` if none.
    /// - Throws: `NoSuchBucket`.
    public func bucketConfiguration(_ bucket: String, name: String) async throws(StoreError) -> Data? {
        // One row per existing bucket, its `value` NULL when the configuration is absent.
        let value = try await read("read the bucket configuration") { db -> Data?? in
            try Row.fetchOne(db, sql: """
                SELECT c.value FROM bucket b
                LEFT JOIN bucket_configuration c ON c.bucket_id = b.id AND c.name = ?
                WHERE b.name = ?
                """, arguments: [name, bucket])
                .map { row in try row.decode(Data?.self, atIndex: 0) }
        }
        guard let value else { throw StoreError.noSuchBucket(bucket) }
        return value
    }

    /// Stores, replaces or (with `nil`) deletes a bucket configuration document.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - name: Which configuration, e.g. `cors`.
    ///   - value: The bytes to keep, or `nil` to delete them.
    /// - Throws: `NoSuchBucket`.
    public func setBucketConfiguration(_ bucket: String, name: String, value: Data?) async throws(StoreError) {
        try await write("store the bucket configuration") { db in
            guard let id = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            try Self.storeConfiguration(db, bucketID: id, name: name, value: value)
        }
    }

    /// Stores, replaces or (with `nil`) deletes a configuration document inside the caller's transaction.
    static func storeConfiguration(_ db: Database, bucketID: Int64, name: String, value: Data?) throws {
        if let value {
            try db.execute(sql: """
                INSERT INTO bucket_configuration (bucket_id, name, value) VALUES (?, ?, ?)
                ON CONFLICT (bucket_id, name) DO UPDATE SET value = excluded.value
                """, arguments: [bucketID, name, value])
        } else {
            try db.execute(sql: "DELETE FROM bucket_configuration WHERE bucket_id = ? AND name = ?", arguments: [bucketID, name])
        }
    }

    /// The bucket configuration row holding default encryption (`AES256`).
    static let encryptionConfiguration = "encryption"

    /// The bucket's default encryption: whether new objects are encrypted at rest without asking.
    ///
    /// - Throws: `NoSuchBucket`.
    public func defaultEncryption(_ bucket: String) async throws(StoreError) -> Bool {
        try await bucketConfiguration(bucket, name: Self.encryptionConfiguration) != nil
    }

    /// Turns the bucket's default encryption (SSE-S3, `AES256`) on or off. Objects already
    /// stored keep how they were written.
    ///
    /// - Throws: `NoSuchBucket`.
    public func setDefaultEncryption(_ bucket: String, _ enabled: Bool) async throws(StoreError) {
        try await setBucketConfiguration(bucket, name: Self.encryptionConfiguration,
                                         value: enabled ? Data(ObjectMetadata.aes256.utf8) : nil)
    }

    /// The bucket's id and whether it encrypts by default, in the caller's transaction; `nil` without the bucket.
    static func bucketEncryption(_ db: Database, _ name: String) throws -> (id: Int64, encrypts: Bool)? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT b.id, c.value IS NOT NULL FROM bucket b
            LEFT JOIN bucket_configuration c ON c.bucket_id = b.id AND c.name = ?
            WHERE b.name = ?
            """, arguments: [encryptionConfiguration, name])
        else { return nil }
        return (try row.decode(Int64.self, atIndex: 0), try row.decode(Bool.self, atIndex: 1))
    }

    // MARK: Helpers

    /// The bucket's row id, or `nil`.
    static func bucketID(_ db: Database, _ name: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT id FROM bucket WHERE name = ?", arguments: [name])
    }

    private static func bucketInfo(_ row: Row) throws -> BucketInfo {
        BucketInfo(
            name: try row.decode(String.self, forColumn: "name"),
            creationDate: Date(timeIntervalSince1970: TimeInterval(try row.decode(Int64.self, forColumn: "created_at")))
        )
    }

    /// The clock's time in whole seconds since 1970.
    func currentSeconds() -> Int64 {
        let seconds = clock().timeIntervalSince1970.rounded(.down)
        guard seconds.isFinite, seconds > -9.2e18, seconds < 9.2e18 else { return 0 }
        return Int64(seconds)
    }

    /// Runs `body` in a write transaction through GRDB's async writer (off the cooperative pool);
    /// its `StoreError`s pass through, anything else becomes `InternalError`.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await database.write(body)
        } catch {
            throw StoreError.internalError("Could not \(what)", error)
        }
    }

    /// Runs `body` in a read transaction through GRDB's async readers (off the cooperative pool);
    /// its `StoreError`s pass through, anything else becomes `InternalError`.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(StoreError) -> T {
        do {
            return try await database.read(body)
        } catch {
            throw StoreError.internalError("Could not \(what)", error)
        }
    }
}

extension StorageEngine {
    /// Raises this process's soft limit of open files to its hard limit.
    ///
    /// A reader holds one descriptor per segment of the object it reads (see
    /// ``ObjectReader``), and an object completed from 10,000 parts has 10,000 segments:
    /// the usual soft limit of 1,024 would fail the second such GET at once. Servers
    /// call this once at start.
    ///
    /// - Returns: The soft limit now in force (`nil` if it could not be read).
    @discardableResult
    public static func raiseOpenFileLimit() -> UInt64? {
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { return UInt64(raised.rlim_max) }
        }
        return UInt64(limit.rlim_cur)
    }
}
