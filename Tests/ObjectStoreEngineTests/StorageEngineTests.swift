import Foundation
import GRDB
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineTests {
    // MARK: Opening

    @Test func createsItsLayout() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let nested = directory.url.appendingPathComponent("a/b/store")
        let engine = try StorageEngine(directory: nested)
        let files = FileManager.default
        #expect(files.fileExists(atPath: nested.path + "/index.sqlite"))
        #expect(files.fileExists(atPath: nested.path + "/tmp"))
        #expect(try files.contentsOfDirectory(atPath: nested.path + "/blobs").count == 256)
        _ = engine
    }

    @Test func indexIsWALWithFullSync() throws {
        let store = try TestStore()
        defer { store.close() }
        let (journal, synchronous, foreignKeys) = try store.engine.database.writeWithoutTransaction { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode"),
                try Int.fetchOne(db, sql: "PRAGMA synchronous"),
                try Bool.fetchOne(db, sql: "PRAGMA foreign_keys")
            )
        }
        #expect(journal == "wal")
        #expect(synchronous == 2)  // FULL
        #expect(foreignKeys == true)
    }

    @Test func secondEngineOnTheSameDirectoryIsRefused() throws {
        let store = try TestStore()
        defer { store.close() }
        #expect(throws: StoreError.self) { try StorageEngine(directory: store.directory.url) }
    }

    @Test func dataSurvivesReopening() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = TestClock()
        do {
            let engine = try StorageEngine(directory: directory.url, clock: clock.function)
            try engine.createBucket("bucket")
            try engine.put("bucket", "a/b.txt", "hello")
            try engine.setBucketConfiguration("bucket", name: "cors", value: Data("<CORSConfiguration/>".utf8))
        }
        let engine = try StorageEngine(directory: directory.url, clock: clock.function)
        #expect(try engine.listBuckets().map(\.name) == ["bucket"])
        #expect(try engine.text("bucket", "a/b.txt") == "hello")
        #expect(try engine.bucketConfiguration("bucket", name: "cors") == Data("<CORSConfiguration/>".utf8))
    }

    // MARK: Buckets

    @Test func createAndListBuckets() throws {
        let store = try TestStore(bucket: nil)
        defer { store.close() }
        let engine = store.engine
        #expect(try engine.listBuckets().isEmpty)
        try engine.createBucket("zeta")
        store.clock.advance(by: 10)
        try engine.createBucket("alpha.images")
        try engine.createBucket("m-1")
        #expect(try engine.listBuckets().map(\.name) == ["alpha.images", "m-1", "zeta"])
        let zeta = try engine.bucket("zeta")
        #expect(zeta == BucketInfo(name: "zeta", creationDate: Date(timeIntervalSince1970: 1_735_787_045)))
        #expect(try engine.bucket("alpha.images").creationDate == Date(timeIntervalSince1970: 1_735_787_055))
        expectStoreError(.noSuchBucket) { try engine.bucket("nope") }
    }

    @Test func duplicateBucket() throws {
        let store = try TestStore()
        defer { store.close() }
        expectStoreError(.bucketAlreadyOwnedByYou) { try store.engine.createBucket("bucket") }
    }

    @Test func deleteBucket() throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine
        try engine.put("bucket", "k", "x")
        expectStoreError(.bucketNotEmpty) { try engine.deleteBucket("bucket") }
        #expect(try engine.delete(bucket: "bucket", key: "k"))
        try engine.setBucketConfiguration("bucket", name: "cors", value: Data("x".utf8))
        try engine.deleteBucket("bucket")
        expectStoreError(.noSuchBucket) { try engine.bucket("bucket") }
        expectStoreError(.noSuchBucket) { try engine.deleteBucket("bucket") }
        // A new bucket of the same name starts without the old configuration.
        try engine.createBucket("bucket")
        #expect(try engine.bucketConfiguration("bucket", name: "cors") == nil)
    }

    @Test func bucketConfiguration() throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine
        #expect(try engine.bucketConfiguration("bucket", name: "cors") == nil)
        try engine.setBucketConfiguration("bucket", name: "cors", value: Data("one".utf8))
        try engine.setBucketConfiguration("bucket", name: "cors", value: Data("two".utf8))
        try engine.setBucketConfiguration("bucket", name: "versioning", value: Data())
        #expect(try engine.bucketConfiguration("bucket", name: "cors") == Data("two".utf8))
        #expect(try engine.bucketConfiguration("bucket", name: "versioning") == Data())
        try engine.setBucketConfiguration("bucket", name: "cors", value: nil)
        #expect(try engine.bucketConfiguration("bucket", name: "cors") == nil)
        try engine.setBucketConfiguration("bucket", name: "cors", value: nil)
        expectStoreError(.noSuchBucket) { try engine.bucketConfiguration("nope", name: "cors") }
        expectStoreError(.noSuchBucket) { try engine.setBucketConfiguration("nope", name: "cors", value: Data()) }
    }
}
