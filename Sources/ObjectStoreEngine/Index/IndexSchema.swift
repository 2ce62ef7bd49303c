import GRDB

/// The SQLite index's schema, as a list of migrations.
///
/// Later issues add migrations; none may change one already shipped.
///
/// ## Version 1
///
/// ```sql
/// bucket(id INTEGER PRIMARY KEY, name TEXT UNIQUE, created_at INTEGER)    -- unix seconds
/// bucket_configuration(bucket_id, name, value BLOB)                       -- "cors", "versioning", ... raw bytes
/// object(id INTEGER PRIMARY KEY,
///        bucket_id, key BLOB,                -- UTF-8 bytes: BLOBs compare with memcmp, so ORDER BY key is S3's order
///        version_id TEXT DEFAULT 'null',     -- S3's null version; versioned buckets will add real ids
///        is_latest INTEGER DEFAULT 1,        -- the version GET without versionId answers
///        is_delete_marker INTEGER DEFAULT 0, -- for versioning: a latest delete marker hides the key
///        blob TEXT,                          -- blob file name (see StoreLayout); NULL only for delete markers
///        size, etag TEXT, sha256 BLOB, last_modified INTEGER, metadata TEXT /* JSON of ObjectMetadata */)
///   UNIQUE (bucket_id, key, version_id)
///   UNIQUE (bucket_id, key) WHERE is_latest = 1     -- the listing index: range scans, seeks past common prefixes
///   INDEX  (blob)                                   -- is a blob still referenced? (copies share blobs)
/// ```
///
/// ## Multipart (`"multipart"`)
///
/// ```sql
/// multipart_upload(id INTEGER PRIMARY KEY, upload_id TEXT UNIQUE,   -- the opaque id clients send
///                  bucket_id, key BLOB, initiated INTEGER, metadata TEXT /* JSON of ObjectMetadata */)
///   INDEX (bucket_id, key, upload_id)                               -- ListMultipartUploads' order
/// multipart_part(upload_row, part_number 1...10000, blob TEXT, size, etag TEXT, sha256 BLOB, last_modified)
///   PRIMARY KEY (upload_row, part_number)
///   INDEX (blob)
/// ```
///
/// Each part is a blob of its own; completion makes the chosen parts' blobs the
/// object's segments (see migration `segments`) and removes the others. The blob
/// GC at start keeps every blob a part references.
///
/// ## Migration `events`
///
/// ```sql
/// event(id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT, body TEXT /* S3 notification JSON */,
///       created_at REAL, visible_at REAL, receive_count INTEGER, receipt TEXT, dead_at REAL)
///   INDEX (queue, visible_at) WHERE dead_at IS NULL
/// event_sequence(id = 1, value INTEGER)    -- the last sequencer handed out
/// ```
///
/// `StorageEngine.publishLatest` and `delete` fill `event` in the same
/// transaction as the object row (see ``OutboxQueue``).
///
/// ## Versioning (no migration)
///
/// A `versioning` row in `bucket_configuration` (`Enabled` or `Suspended`) turns it on.
/// Each version is an `object` row with its own `version_id` (32 hex digits, or `null`);
/// exactly one row per key has `is_latest = 1`, moved in the transaction that adds or
/// removes a version. Delete markers are rows with `is_delete_marker = 1` and no blob.
/// Row ids order a key's versions: the newest has the largest id.
///
/// ## Migration `completed_uploads`
///
/// ```sql
/// completed_upload(upload_id TEXT PRIMARY KEY, bucket_id, key BLOB,
///                  parts TEXT,              -- the completion's list, one "<number> <etag>" line per part
///                  etag, size, version_id, metadata, completed_at INTEGER)
///   INDEX (completed_at)
/// ```
///
/// A completion answers a retry of itself (same upload, key and part list) for a day
/// (`StorageEngine.completionMemory`) with the same result, as S3 does; older rows are
/// dropped by the next completion.
///
/// ## Migration `segments`
///
/// ```sql
/// object(..., segments TEXT)   -- NULL when `blob` holds all the bytes; else one "<blob> <size>" line per segment
/// ```
///
/// A completed multipart upload is not copied into one blob: its parts' blobs are
/// its segments, in order (``Segment``), and `blob` is the first of them. That
/// first part blob belongs to no other object, so `blob` still names the row's
/// files: copies copy the whole row, the `(blob)` index still tells whether the
/// files are in use, and removing the last row that has it removes every segment.
/// The blob GC at start keeps every segment of every row.
enum IndexSchema {
    /// The migrator that brings any earlier index up to date.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE bucket (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE bucket_configuration (
                    bucket_id INTEGER NOT NULL REFERENCES bucket(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    value BLOB NOT NULL,
                    PRIMARY KEY (bucket_id, name)
                ) WITHOUT ROWID;
                CREATE TABLE object (
                    id INTEGER PRIMARY KEY,
                    bucket_id INTEGER NOT NULL REFERENCES bucket(id),
                    key BLOB NOT NULL CHECK (typeof(key) = 'blob' AND length(key) BETWEEN 1 AND 1024),
                    version_id TEXT NOT NULL DEFAULT 'null',
                    is_latest INTEGER NOT NULL DEFAULT 1 CHECK (is_latest IN (0, 1)),
                    is_delete_marker INTEGER NOT NULL DEFAULT 0 CHECK (is_delete_marker IN (0, 1)),
                    blob TEXT,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    sha256 BLOB,
                    last_modified INTEGER NOT NULL,
                    metadata TEXT NOT NULL,
                    CHECK (is_delete_marker = 1 OR blob IS NOT NULL)
                );
                CREATE UNIQUE INDEX object_version ON object(bucket_id, key, version_id);
                CREATE UNIQUE INDEX object_latest ON object(bucket_id, key) WHERE is_latest = 1;
                CREATE INDEX object_blob ON object(blob) WHERE blob IS NOT NULL;
                """)
        }
        migrator.registerMigration("events") { db in
            // The transactional outbox: an event row commits with the object row it describes.
            // `visible_at` hides a received event until its visibility timeout ends; a row whose
            // `dead_at` is set is in the dead-letter set. AUTOINCREMENT: ids (and so
            // sequencers) are never reused.
            try db.execute(sql: """
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    queue TEXT NOT NULL,
                    body TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    visible_at REAL NOT NULL,
                    receive_count INTEGER NOT NULL DEFAULT 0,
                    receipt TEXT,
                    dead_at REAL
                );
                CREATE INDEX event_ready ON event(queue, visible_at) WHERE dead_at IS NULL;
                CREATE TABLE event_sequence (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    value INTEGER NOT NULL
                );
                INSERT INTO event_sequence (id, value) VALUES (1, 0);
                """)
        }
        migrator.registerMigration("multipart") { db in
            try db.execute(sql: """
                CREATE TABLE multipart_upload (
                    id INTEGER PRIMARY KEY,
                    upload_id TEXT NOT NULL UNIQUE,
                    bucket_id INTEGER NOT NULL REFERENCES bucket(id),
                    key BLOB NOT NULL CHECK (typeof(key) = 'blob' AND length(key) BETWEEN 1 AND 1024),
                    initiated INTEGER NOT NULL,
                    metadata TEXT NOT NULL
                );
                CREATE INDEX multipart_upload_key ON multipart_upload(bucket_id, key, upload_id);
                CREATE TABLE multipart_part (
                    upload_row INTEGER NOT NULL REFERENCES multipart_upload(id),
                    part_number INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
                    blob TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    sha256 BLOB,
                    last_modified INTEGER NOT NULL,
                    PRIMARY KEY (upload_row, part_number)
                ) WITHOUT ROWID;
                CREATE INDEX multipart_part_blob ON multipart_part(blob);
                """)
        }
        migrator.registerMigration("segments") { db in
            try db.execute(sql: "ALTER TABLE object ADD COLUMN segments TEXT")
        }
        migrator.registerMigration("completed_uploads") { db in
            // What a completion answered, for a client that retries it after a lost response.
            try db.execute(sql: """
                CREATE TABLE completed_upload (
                    upload_id TEXT PRIMARY KEY,
                    bucket_id INTEGER NOT NULL REFERENCES bucket(id) ON DELETE CASCADE,
                    key BLOB NOT NULL,
                    parts TEXT NOT NULL,
                    etag TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    version_id TEXT,
                    metadata TEXT NOT NULL,
                    completed_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX completed_upload_age ON completed_upload(completed_at);
                """)
        }
        return migrator
    }

    /// Every blob name the index references (objects, their segments, multipart parts);
    /// blob files outside this set are crash leftovers.
    ///
    /// - Throws: `InternalError` for an unreadable segment list: then which files are in use
    ///   is unknown, and none may be removed.
    static func referencedBlobs(_ db: Database) throws -> Set<String> {
        var blobs = try Set(String.fetchCursor(db, sql: "SELECT DISTINCT blob FROM object WHERE blob IS NOT NULL"))
        let lists = try String.fetchCursor(db, sql: "SELECT DISTINCT segments FROM object WHERE segments IS NOT NULL")
        while let list = try lists.next() {
            for segment in try Segment.decode(list) { blobs.insert(segment.blob) }
        }
        for blob in try String.fetchAll(db, sql: "SELECT blob FROM multipart_part") { blobs.insert(blob) }
        return blobs
    }
}
