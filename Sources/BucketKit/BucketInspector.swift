import Foundation
import S3

/// Reads a bucket's state over S3: its existence, the server's clock, the credentials, and each setting.
///
/// ```swift
/// let state = await BucketInspector(s3: client).state(of: wants)
/// ```
public struct BucketInspector: Sendable {
    /// The client that reads (signed with the credentials under test).
    public let s3: S3Client
    /// The local clock (injected in tests).
    public let now: @Sendable () -> Date

    public init(s3: S3Client, now: @escaping @Sendable () -> Date = { Date() }) {
        self.s3 = s3
        self.now = now
    }

    /// The bucket's state; never throws: what cannot be read is recorded as such.
    public func state(of wants: BucketWants) async -> BucketState {
        var state = BucketState(bucket: wants.bucket, credentials: .missing("not read"), localDate: now())
        do {
            let credentials = try await s3.currentCredentials()
            state.credentials = .found(accessKeyId: credentials.accessKeyId, expiration: credentials.expiration)
        } catch {
            state.credentials = .missing(String(describing: error))
            state.access = .unreachable("no credentials")
            return state
        }
        state.access = await access(wants.bucket, into: &state)
        guard state.access == .ok else { return state }

        let b = wants.bucket
        let s3 = self.s3
        let only = wants.only
        if only.contains(.cors) { state.cors = await observe { try await s3.getBucketCORS(b) } }
        if only.contains(.versioning) { state.versioning = await observe { try await s3.getBucketVersioning(b) } }
        if only.contains(.encryption) { state.encryption = await observe { try await s3.getBucketEncryption(b) } }
        if only.contains(.publicAccess) { state.publicAccess = await observe { try await s3.getPublicAccessBlock(b) } }
        if only.contains(.tlsPolicy), wants.endpointUsesTLS { state.policy = await observe { try await s3.getBucketPolicy(b) } }
        if only.contains(.lifecycle) { state.lifecycle = await observe { try await s3.getBucketLifecycle(b) } }
        if only.contains(.notification) { state.notification = await observe { try await s3.getBucketNotification(b) } }
        return state
    }

    /// `HEAD` of the bucket (its status and `Date`), and for a refusal the reason a `GET` of it gives.
    func access(_ bucket: String, into state: inout BucketState) async -> BucketAccess {
        let head: S3BucketHead
        do {
            head = try await s3.headBucket(bucket)
        } catch {
            return .unreachable(String(describing: error))
        }
        state.serverDate = head.date
        state.localDate = now()
        switch head.status {
        case 200..<300: return .ok
        case 404: return .missing
        default: break
        }
        // A HEAD has no body: ask again with a GET, whose error names the reason.
        do {
            _ = try await s3.getBucketVersioning(bucket)
            return .denied("HeadBucket answered HTTP \(head.status)")
        } catch let error as S3ClientError {
            let why = BucketErrors.describe(error)
            switch error.code.rawValue {
            case "NoSuchBucket": return .missing
            case "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidClientTokenId": return .credentialsInvalid(why)
            case "RequestTimeTooSkewed": return .clockSkewed(why)
            default: return .denied(why)
            }
        } catch {
            return .unreachable(String(describing: error))
        }
    }

    func observe<V: Sendable>(_ read: () async throws -> V) async -> Observed<V> {
        do {
            return .value(try await read())
        } catch {
            return BucketErrors.isUnsupported(error) ? .notSupported(BucketErrors.describe(error)) : .failed(BucketErrors.describe(error))
        }
    }
}
