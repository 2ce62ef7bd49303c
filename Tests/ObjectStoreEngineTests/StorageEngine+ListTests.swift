import Foundation
import GRDB
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineListTests {
    /// What S3 lists, computed the slow, obvious way: every key, rolled up, sorted by bytes.
    static func reference(
        _ keys: [String],
        prefix: String,
        delimiter: String?,
        after: String?,
        maxKeys: Int
    ) -> (names: [String], isTruncated: Bool) {
        let prefixBytes = Array(prefix.utf8)
        var names = Set<[UInt8]>()
        for key in keys {
            let bytes = Array(key.utf8)
            guard bytes.starts(with: prefixBytes) else { continue }
            if let delimiter, !delimiter.isEmpty, let end = Self.end(of: Array(delimiter.utf8), in: bytes, from: prefixBytes.count) {
                names.insert(Array(bytes[..<end]))
            } else {
                names.insert(bytes)
            }
        }
        var sorted = names.sorted { $0.lexicographicallyPrecedes($1) }
        if let after {
            sorted = sorted.filter { Array(after.utf8).lexicographicallyPrecedes($0) }
        }
        // S3: `max-keys=0` is an empty page that is not truncated, whatever follows.
        return (sorted.prefix(maxKeys).map { String(decoding: $0, as: UTF8.self) }, maxKeys > 0 && sorted.count > maxKeys)
    }

    /// The end index of the first `needle` in `haystack` at or after `start`.
    static func end(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for index in stride(from: start, through: haystack.count - needle.count, by: 1)
        where haystack[index..<(index + needle.count)].elementsEqual(needle) {
            return index + needle.count
        }
        return nil
    }

    static let modelKeys: [String] = {
        var keys = [
            "a", "a/", "a/b", "a/b/", "a/b/c", "a/b/d", "a/bc", "a-b", "a-b/c", "a0", "a//x", "b", "b/", "b/b/b/b",
            "photos/2024/01/x.jpg", "photos/2024/01/y.jpg", "photos/2024/02/z.jpg", "photos/2025/a.jpg",
            "photos/readme", "photos2/x", "é", "é/é", "éé", "🦄", "🦄/🐈", "Z", "~", " ", "a b/c", "zz/top",
            "x-y-z", "x-y", "x--y", "x/2/3", "x/23",
        ]
        for index in 0..<40 { keys.append("many/\(index % 7)/item\(index)") }
        return keys
    }()

    @Test func matchesTheReferenceModel() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        for key in Self.modelKeys { try await engine.put("bucket", key, "v") }

        let prefixes = ["", "a", "a/", "a/b", "photos/", "photos/2024/", "many/", "x", "é", "zz", "nothing"]
        let delimiters: [String?] = [nil, "", "/", "-", "/2", "é", "--"]
        let afters: [String?] = [nil, "", "a", "a/", "a/b", "a/b/c", "many/3/", "photos/2024/", "photos/2024/01/x.jpg", "x-", "é", "zzzz", "🦄/"]
        var checked = 0
        for prefix in prefixes {
            for delimiter in delimiters {
                for after in afters {
                    for maxKeys in [0, 1, 2, 3, 7, 1000] {
                        let page = try await engine.list(bucket: "bucket", prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys)
                        let expected = Self.reference(Self.modelKeys, prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys)
                        let names = page.entries.map(\.name)
                        #expect(
                            names.map { Array($0.utf8) } == expected.names.map { Array($0.utf8) } && page.isTruncated == expected.isTruncated,
                            "prefix \(prefix) delimiter \(delimiter ?? "nil") after \(after ?? "nil") maxKeys \(maxKeys): \(names) \(page.isTruncated)"
                        )
                        checked += 1
                    }
                }
                // Paging by the last entry's name walks the full listing exactly once.
                for pageSize in [1, 2, 5] {
                    let walked = try await engine.allNames("bucket", prefix: prefix, delimiter: delimiter, pageSize: pageSize).names
                    let full = Self.reference(Self.modelKeys, prefix: prefix, delimiter: delimiter, after: nil, maxKeys: .max).names
                    #expect(walked == full, "prefix \(prefix) delimiter \(delimiter ?? "nil") page size \(pageSize)")
                }
            }
        }
        #expect(checked == prefixes.count * delimiters.count * afters.count * 6)
    }

    @Test func entriesCarryTheObjects() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let info = try await engine.put("bucket", "dir/file", Array("abc".utf8), metadata: ObjectMetadata(contentType: "text/plain"))
        try await engine.put("bucket", "dir/sub/file", "x")
        let page = try await engine.list(bucket: "bucket", prefix: "dir/", delimiter: "/", after: nil, maxKeys: 10)
        #expect(page.entries == [.object(info), .commonPrefix("dir/sub/")])
        #expect(page.isTruncated == false)
    }

    @Test func byteOrderNotStringOrder() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let keys = ["a", "B", "a/", "a-", "a0", "é", "e", "🦄", "\u{FFFD}", "ｚ", "~", "Ā"]
        for key in keys.shuffled() { try await engine.put("bucket", key, "v") }
        let names = try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: 100).entries.map(\.name)
        #expect(names == ["B", "a", "a-", "a/", "a0", "e", "~", "Ā", "é", "\u{FFFD}", "ｚ", "🦄"].sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(names == ["B", "a", "a-", "a/", "a0", "e", "~", "é", "Ā", "ｚ", "\u{FFFD}", "🦄"])
    }

    @Test func maxKeysZeroAndNegative() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let empty = try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: 0)
        #expect(empty.entries.isEmpty && empty.isTruncated == false)
        try await engine.put("bucket", "k", "v")
        let zero = try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: 0)
        #expect(zero.entries.isEmpty && zero.isTruncated == false)
        let elsewhere = try await engine.list(bucket: "bucket", prefix: "other", delimiter: nil, after: nil, maxKeys: 0)
        #expect(elsewhere.isTruncated == false)
        await expectStoreError(.invalidArgument) { try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: -1) }
    }

    @Test func paginationOver1500KeysWithRollups() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        var keys: [String] = []
        for index in 0..<1_500 {
            // 1,000 flat keys, 500 under 50 "folders" of 10.
            keys.append(index < 1_000 ? String(format: "flat/%04d.jpg", index) : "nested/\((index - 1_000) / 10)/\(index).jpg")
        }
        for key in keys { try await engine.put("bucket", key, [UInt8(truncatingIfNeeded: key.utf8.count)]) }

        let all = try await engine.allNames("bucket", pageSize: 1000)
        #expect(all.names == keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
        #expect(all.pages == 2)
        let first = try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: 1000)
        #expect(first.entries.count == 1000 && first.isTruncated)
        let second = try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: first.entries.last?.name, maxKeys: 1000)
        #expect(second.entries.count == 500 && second.isTruncated == false)

        let flat = try await engine.allNames("bucket", prefix: "flat/", pageSize: 333)
        #expect(flat.names.count == 1_000 && flat.pages == 4)

        let top = try await engine.list(bucket: "bucket", prefix: "", delimiter: "/", after: nil, maxKeys: 1000)
        #expect(top.entries == [.commonPrefix("flat/"), .commonPrefix("nested/")])
        let folders = try await engine.allNames("bucket", prefix: "nested/", delimiter: "/", pageSize: 7)
        #expect(folders.names == (0..<50).map { "nested/\($0)/" }.sorted())
        #expect(folders.pages == 8)
        let one = try await engine.list(bucket: "bucket", prefix: "nested/7/", delimiter: "/", after: nil, maxKeys: 1000)
        #expect(one.entries.map(\.name) == (1_070..<1_080).map { "nested/7/\($0).jpg" })
    }

    /// A common prefix costs one seek, however many keys it rolls up.
    @Test func commonPrefixesAreSkippedWithOneSeek() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        for index in 0..<300 { try await engine.put("bucket", "big/\(index)", "v") }
        try await engine.put("bucket", "a", "v")
        try await engine.put("bucket", "small/1", "v")
        try await engine.put("bucket", "z", "v")

        let (page, seeks) = try await engine.database.read { db in
            let bucketID = try #require(try StorageEngine.bucketID(db, "bucket"))
            return try ListScan(prefix: [], delimiter: Array("/".utf8), after: nil).run(db, bucket: "bucket", bucketID: bucketID, maxKeys: 1000)
        }
        #expect(page.entries.map(\.name) == ["a", "big/", "small/", "z"])
        #expect(seeks == 3)  // the start, then one past each common prefix
    }

    @Test func listingUsesTheLatestIndex() async throws {
        let store = try await TestStore()
        defer { store.close() }
        for inclusive in [true, false] {
            for bounded in [true, false] {
                let plan = try await store.engine.database.read { db in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + ListScan.sql(inclusive: inclusive, bounded: bounded), arguments: bounded ? [1, Data(), Data()] : [1, Data()])
                        .map { try $0.decode(String.self, forColumn: "detail") }
                        .joined(separator: "; ")
                }
                #expect(plan.contains("USING INDEX object_latest"), "\(plan)")
                #expect(!plan.contains("TEMP B-TREE"), "\(plan)")  // no sort step: the index gives the order
            }
        }
    }
}
