import Testing
import ObjectStoreEngine

/// S3's bucket naming rules, through ``StorageEngine/createBucket(_:)``.
@Suite struct BucketNameTests {
    @Test(arguments: [
        "ab", String(repeating: "a", count: 64), "Bucket", "my_bucket", "my bucket", "-bucket", "bucket-", ".bucket",
        "bucket.", "my..bucket", "192.168.5.4", "1.2.3.4", "xn--bucket", "sthree-bucket", "amzn-s3-demo-bucket",
        "bucket-s3alias", "bucket--ol-s3", "bucket.mrap", "bucket--x-s3", "bucket--table-s3", "bücket", "",
    ])
    func invalidBucketNames(name: String) async throws {
        let store = try await TestStore(bucket: nil)
        defer { store.close() }
        await expectStoreError(.invalidBucketName) { try await store.engine.createBucket(name) }
    }

    @Test(arguments: [
        "abc", String(repeating: "a", count: 63), "my-bucket", "my.bucket.name", "1bucket", "bucket1", "a-b.c-d",
        "192.168.5", "1.2.3.4.5", "article-images", "xn-bucket",
    ])
    func validBucketNames(name: String) async throws {
        let store = try await TestStore(bucket: nil)
        defer { store.close() }
        try await store.engine.createBucket(name)
        #expect(try await store.engine.bucket(name).name == name)
    }
}
