import Foundation

/// An AWS-style access key: the identity that signs requests.
///
/// ```swift
/// let credentials = SigV4Credentials(accessKeyId: "AKIA…", secretAccessKey: "…")
/// ```
public struct SigV4Credentials: Sendable, Hashable {
    /// The public half, written into every signature's credential scope.
    public var accessKeyId: String
    /// The secret half; never leaves the process and is never logged.
    public var secretAccessKey: String
    /// A session token for temporary credentials (`X-Amz-Security-Token`).
    public var sessionToken: String?
    /// When temporary credentials stop working; `nil` for long-lived keys.
    ///
    /// Pre-signed URLs never outlive this moment.
    public var expiration: Date?

    /// Creates credentials.
    /// - Parameters:
    ///   - accessKeyId: the access key id.
    ///   - secretAccessKey: the secret access key.
    ///   - sessionToken: the session token of temporary credentials.
    ///   - expiration: when temporary credentials expire.
    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }
}

extension SigV4Credentials: CustomStringConvertible {
    /// Shows the access key id only, so credentials can be logged safely.
    public var description: String {
        "SigV4Credentials(accessKeyId: \(accessKeyId), secretAccessKey: <redacted>\(sessionToken == nil ? "" : ", sessionToken: <redacted>"))"
    }
}
