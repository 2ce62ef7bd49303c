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

    @Test func indexIsWALWithFullSync() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let (journal, synchronous, foreignKeys) = try await store.engine.database.writeWithoutTransaction { db in
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

    @Test func secondEngineOnTheSameDirectoryIsRefused() async throws {
        let store = try await TestStore()
        defer { store.close() }
        #expect(throws: StoreError.self) { try StorageEngine(directory: store.directory.url) }
    }

    @Test func dataSurvivesReopening() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let clock = TestClock()
        do {
            let engine = try StorageEngine(directory: directory.url, clock: clock.function)
            try await engine.createBucket("bucket")
            try await engine.put("bucket", "a/b.txt", "hello")
            try await engine.setBucketConfiguration("bucket", name: "cors", value: Data("<CORSConfiguration/>".utf8))
        }
        let engine = try StorageEngine(directory: directory.url, clock: clock.function)
        #expect(try await engine.listBuckets().map(\.name) == ["bucket"])
        #expect(try await engine.text("bucket", "a/b.txt") == "hello")
        #expect(try await engine.bucketConfiguration("bucket", name: "cors") == Data("<CORSConfiguration/>".utf8))
    }

    // MARK: Buckets

    @Test func createAndListBuckets() async throws {
        let store = try await TestStore(bucket: nil)
        defer { store.close() }
        let engine = store.engine
        #expect(try await engine.listBuckets().isEmpty)
        try await engine.createBucket("zeta")
        store.clock.advance(by: 10)
        try await engine.createBucket("alpha.images")
        try await engine.createBucket("m-1")
        #expect(try await engine.listBuckets().map(\.name) == ["alpha.images", "m-1", "zeta"])
        let zeta = try await engine.bucket("zeta")
        #expect(zeta == BucketInfo(name: "zeta", creationDate: Date(timeIntervalSince1970: 1_735_787_045)))
        #expect(try await engine.bucket("alpha.images").creationDate == Date(timeIntervalSince1970: 1_735_787_055))
        await expectStoreError(.noSuchBucket) { try await engine.bucket("nope") }
    }

    @Test func duplicateBucket() async throws {
        let store = try await TestStore()
        defer { store.close() }
        await expectStoreError(.bucketAlreadyOwnedByYou) { try await store.engine.createBucket("bucket") }
    }

    @Test func deleteBucket() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.put("bucket", "k", "x")
        await expectStoreError(.bucketNotEmpty) { try await engine.deleteBucket("bucket") }
        #expect(try await engine.delete(bucket: "bucket", key: "k"))
        try await engine.setBucketConfiguration("bucket", name: "cors", value: Data("x".utf8))
        try await engine.deleteBucket("bucket")
        await expectStoreError(.noSuchBucket) { try await engine.bucket("bucket") }
        await expectStoreError(.noSuchBucket) { try await engine.deleteBucket("bucket") }
        // A new bucket of the same name starts without the old configuration.
        try await engine.createBucket("bucket")
        #expect(try await engine.bucketConfiguration("bucket", name: "cors") == nil)
    }

    @Test func bucketConfiguration() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        #expect(try await engine.bucketConfiguration("bucket", name: "cors") == nil)
        try await engine.setBucketConfiguration("bucket", name: "cors", value: Data("one".utf8))
        try await engine.setBucketConfiguration("bucket", name: "cors", value: Data("two".utf8))
        try await engine.setBucketConfiguration("bucket", name: "versioning", value: Data())
        #expect(try await engine.bucketConfiguration("bucket", name: "cors") == Data("two".utf8))
        #expect(try await engine.bucketConfiguration("bucket", name: "versioning") == Data())
        try await engine.setBucketConfiguration("bucket", name: "cors", value: nil)
        #expect(try await engine.bucketConfiguration("bucket", name: "cors") == nil)
        try await engine.setBucketConfiguration("bucket", name: "cors", value: nil)
        await expectStoreError(.noSuchBucket) { try await engine.bucketConfiguration("nope", name: "cors") }
        await expectStoreError(.noSuchBucket) { try await engine.setBucketConfiguration("nope", name: "cors", value: Data()) }
    }
}
