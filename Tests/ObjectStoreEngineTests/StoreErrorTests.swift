import Testing
import ObjectStoreEngine

@Suite struct StoreErrorTests {
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
    func codeSpelling(code: StoreError.Code, rawValue: String, status: Int) {
        let error = StoreError(code, "message")
        #expect(code.rawValue == rawValue)
        #expect(error.description == "\(rawValue): message")
    }
}
