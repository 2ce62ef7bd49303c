import Foundation
import S3

/// One setting as read from the endpoint.
public enum Observed<Value: Sendable>: Sendable {
    /// What the endpoint answered.
    case value(Value)
    /// The endpoint does not implement this setting (it answered `NotImplemented`, …).
    case notSupported(String)
    /// It could not be read (access denied, a network failure): the reason.
    case failed(String)
    /// Not asked for (`--only`).
    case notRead

    /// The value, when there is one.
    public var value: Value? {
        if case let .value(v) = self { return v }
        return nil
    }
}

/// Whether the bucket is there and the credentials may use it.
public enum BucketAccess: Sendable, Equatable {
    /// The bucket answered.
    case ok
    /// `404`: there is no such bucket.
    case missing
    /// The endpoint does not know the access key, or the signature is wrong (a wrong secret).
    case credentialsInvalid(String)
    /// The endpoint refused the request (`AccessDenied`, or a `403` without more).
    case denied(String)
    /// The endpoint refused the request's time (`RequestTimeTooSkewed`).
    case clockSkewed(String)
    /// No credentials, or no answer (connection refused, time-out, DNS).
    case unreachable(String)
}

/// The signing credentials as the doctor sees them.
public enum CredentialsState: Sendable, Equatable {
    /// Found: their access key id and, for temporary ones, when they expire.
    case found(accessKeyId: String, expiration: Date?)
    /// None could be had: why.
    case missing(String)
}

/// Everything read from a bucket: what setup plans from and the doctor judges.
public struct BucketState: Sendable {
    /// The bucket.
    public var bucket: String
    /// Whether it is there and usable.
    public var access: BucketAccess
    /// The signing credentials.
    public var credentials: CredentialsState
    /// The endpoint's clock (its `Date` header) and ours when the answer came.
    public var serverDate: Date?
    public var localDate: Date
    /// The settings.
    public var cors: Observed<[S3CORSRule]> = .notRead
    public var versioning: Observed<String?> = .notRead
    public var encryption: Observed<S3BucketEncryption?> = .notRead
    public var publicAccess: Observed<S3PublicAccessBlock?> = .notRead
    public var policy: Observed<String?> = .notRead
    public var lifecycle: Observed<[S3LifecycleRule]> = .notRead
    public var notification: Observed<S3NotificationConfiguration> = .notRead

    /// Creates a state.
    public init(bucket: String, access: BucketAccess = .ok, credentials: CredentialsState = .found(accessKeyId: "AKID", expiration: nil),
                serverDate: Date? = nil, localDate: Date = Date()) {
        self.bucket = bucket
        self.access = access
        self.credentials = credentials
        self.serverDate = serverDate
        self.localDate = localDate
    }
}

/// How S3 error codes read for bucket settings.
enum BucketErrors {
    /// Codes by which an endpoint says it does not do a setting at all.
    static let unsupportedCodes: Set<String> = ["NotImplemented", "MalformedPolicy", "UnsupportedOperation", "XNotImplemented"]

    /// Whether `error` means the endpoint does not implement the setting.
    static func isUnsupported(_ error: any Error) -> Bool {
        guard let error = error as? S3ClientError else { return false }
        return unsupportedCodes.contains(error.code.rawValue) || error.status == 501
    }

    /// A short description of `error` for one output line (no secrets: S3 errors carry none).
    static func describe(_ error: any Error) -> String {
        if let error = error as? S3ClientError {
            let message = error.message.isEmpty ? "" : ": \(error.message)"
            return "\(error.operation) answered \(error.status.map { "HTTP \($0) " } ?? "")\(error.code.rawValue)\(message)"
        }
        return String(describing: error)
    }
}
