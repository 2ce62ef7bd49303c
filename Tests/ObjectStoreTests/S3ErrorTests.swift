import ObjectStoreEngine
@testable import ObjectStore
import Testing

/// The store's HTTP layer gives each engine error S3's status (the engine names only the code).
@Suite struct S3ErrorTests {
    @Test(arguments: [
        (StoreError.Code.noSuchBucket, "NoSuchBucket", 404),
        (.noSuchKey, "NoSuchKey", 404),
        (.bucketAlreadyOwnedByYou, "BucketAlreadyOwnedByYou", 409),
        (.bucketNotEmpty, "BucketNotEmpty", 409),
        (.invalidBucketName, "InvalidBucketName", 400),
        (.keyTooLong, "KeyTooLongError", 400),
        (.preconditionFailed, "PreconditionFailed", 412),
        (.invalidArgument, "InvalidArgument", 400),
        (.internalError, "InternalError", 500),
        (.noSuchUpload, "NoSuchUpload", 404),
        (.invalidPart, "InvalidPart", 400),
        (.invalidPartOrder, "InvalidPartOrder", 400),
        (.entityTooSmall, "EntityTooSmall", 400),
        (.entityTooLarge, "EntityTooLarge", 400),
        (.badDigest, "BadDigest", 400),
    ])
    func engineErrorStatus(code: StoreError.Code, rawValue: String, status: Int) {
        let error = S3Error(StoreError(code, "message"), resource: "/b/k")
        #expect(error.code.rawValue == rawValue)
        #expect(error.code.status == status)
    }
}
