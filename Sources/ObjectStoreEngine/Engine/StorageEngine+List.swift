import Foundation
import GRDB

extension StorageEngine {
    /// Lists a bucket's objects in UTF-8 byte order of their keys, a page at a time.
    ///
    /// Entries are objects and common prefixes, merged in byte order of their
    /// names (``ListEntry/name``). With a delimiter, the keys under `prefix`
    /// whose remainder contains the delimiter roll up into one common prefix
    /// (`prefix` + remainder up to and including the first delimiter), returned
    /// once, in order among the objects. `after` is an exclusive lower bound on
    /// entry names: a common prefix that sorts at or before `after` is not
    /// returned (so paging on by the last entry's name never repeats one, and
    /// a common prefix that `after` falls inside is skipped).
    ///
    /// Every step is an index seek or one index step: the scan reads the next
    /// key after the previous entry, and jumps past all the keys of a common
    /// prefix with a single seek, however many there are.
    ///
    /// - Parameters:
    ///   - bucket: The bucket.
    ///   - prefix: Only keys that start with it; empty for all.
    ///   - delimiter: Rolls keys up into common prefixes; `nil` or empty for none.
    ///   - after: The exclusive lower bound: `start-after`, `marker`, or a decoded continuation token.
    ///   - maxKeys: At most this many entries, objects and common prefixes together;
    ///     0 gives an empty page, truncated if anything matches.
    /// - Returns: The page; `isTruncated` when more entries follow.
    /// - Throws: `NoSuchBucket`, `InvalidArgument` (negative `maxKeys`), `InternalError`.
    ///
    /// ```swift
    /// var after: String? = nil
    /// repeat {
    ///     let page = try await engine.list(bucket: "photos", prefix: "cats/", delimiter: "/", after: after, maxKeys: 1000)
    ///     for entry in page.entries { print(entry.name) }
    ///     after = page.isTruncated ? page.entries.last?.name : nil
    /// } while after != nil
    /// ```
    public func list(bucket: String, prefix: String, delimiter: String?, after: String?, maxKeys: Int) async throws(StoreError) -> ListPage {
        guard maxKeys >= 0 else {
            throw StoreError(.invalidArgument, "max-keys must not be negative.")
        }
        let scan = ListScan(
            prefix: Array(prefix.utf8),
            delimiter: delimiter.flatMap { $0.isEmpty ? nil : Array($0.utf8) },
            after: after.map { Array($0.utf8) }
        )
        return try await read("list the objects") { db in
            guard let bucketID = try Self.bucketID(db, bucket) else { throw StoreError.noSuchBucket(bucket) }
            // S3 answers `max-keys=0` with no entries and `IsTruncated` false, whatever the bucket holds.
            guard maxKeys > 0 else { return ListPage(entries: [], isTruncated: false) }
            return try scan.run(db, bucket: bucket, bucketID: bucketID, maxKeys: maxKeys).page
        }
    }
}

/// One listing's walk over the `object_latest` index.
struct ListScan {
    /// A lower bound on keys.
    enum Bound {
        case inclusive([UInt8])
        case exclusive([UInt8])
    }

    let prefix: [UInt8]
    let delimiter: [UInt8]?
    let after: [UInt8]?

    /// Walks the index from the start bound, seeking past each common prefix,
    /// until `maxKeys` entries are taken and one more is seen (or the keys run out).
    ///
    /// - Returns: The page, and how many index seeks (queries) it took.
    func run(_ db: Database, bucket: String, bucketID: Int64, maxKeys: Int) throws -> (page: ListPage, seeks: Int) {
        let upper = ObjectKey.successor(ofPrefix: prefix)
        var lower: Bound
        if let after, !after.lexicographicallyPrecedes(prefix) {
            lower = .exclusive(after)
        } else {
            lower = .inclusive(prefix)
        }
        let decoder = JSONDecoder()
        var entries: [ListEntry] = []
        var isTruncated = false
        var seeks = 0

        seek: while true {
            seeks += 1
            let rows = try cursor(db, bucketID: bucketID, from: lower, below: upper)
            while let row = try rows.next() {
                let key = [UInt8](try row.decode(Data.self, forColumn: "key"))
                if let commonPrefix = commonPrefix(of: key) {
                    if let after, !after.lexicographicallyPrecedes(commonPrefix) {
                        // At or before `after`: already returned on an earlier page.
                    } else {
                        guard entries.count < maxKeys else {
                            isTruncated = true
                            break seek
                        }
                        entries.append(.commonPrefix(String(decoding: commonPrefix, as: UTF8.self)))
                    }
                    // Skip every key under the common prefix with one seek.
                    guard let next = ObjectKey.successor(ofPrefix: commonPrefix) else { break seek }
                    lower = .inclusive(next)
                    continue seek
                }
                guard entries.count < maxKeys else {
                    isTruncated = true
                    break seek
                }
                let object = try StoredObject(
                    row: row,
                    bucket: bucket,
                    key: String(decoding: key, as: UTF8.self),
                    bucketID: bucketID,
                    decoder: decoder
                )
                entries.append(.object(object.info))
            }
            break
        }
        return (ListPage(entries: entries, isTruncated: isTruncated), seeks)
    }

    /// `prefix` + the remainder of `key` up to and including the first delimiter, if the remainder has one.
    func commonPrefix(of key: [UInt8]) -> [UInt8]? {
        guard let delimiter, key.count >= prefix.count + delimiter.count else { return nil }
        var start = prefix.count
        let last = key.count - delimiter.count
        while start <= last {
            if key[start] == delimiter[0], key[start..<(start + delimiter.count)].elementsEqual(delimiter) {
                return Array(key[..<(start + delimiter.count)])
            }
            start += 1
        }
        return nil
    }

    /// The latest objects of the bucket from `lower` on, below `upper`, in key order.
    ///
    /// Lazy: SQLite steps the `object_latest` index only as far as the caller reads.
    /// The cursor must be dropped before the next one is made (they share a cached statement).
    private func cursor(_ db: Database, bucketID: Int64, from lower: Bound, below upper: [UInt8]?) throws -> RowCursor {
        var arguments: StatementArguments
        let sql: String
        switch lower {
        case .inclusive(let key):
            sql = Self.sql(inclusive: true, bounded: upper != nil)
            arguments = [bucketID, Data(key)]
        case .exclusive(let key):
            sql = Self.sql(inclusive: false, bounded: upper != nil)
            arguments = [bucketID, Data(key)]
        }
        if let upper {
            arguments += [Data(upper)]
        }
        return try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
    }

    /// The range query over the `object_latest` index: bucket id, lower bound, and (if `bounded`) upper bound.
    static func sql(inclusive: Bool, bounded: Bool) -> String {
        """
        SELECT o.key, \(StoredObject.columns) FROM object o
        WHERE o.bucket_id = ? AND o.is_latest = 1 AND o.is_delete_marker = 0
        AND o.key \(inclusive ? ">=" : ">") ?\(bounded ? " AND o.key < ?" : "")
        ORDER BY o.key
        """
    }
}
