import Foundation

/// The signed-in caller, as proven by a verified token.
public struct AuthenticatedUser: Sendable, Hashable {
    /// The token's `sub` claim: the user's stable identifier at the issuer.
    public let subject: String
    /// The token's `iss` claim (equal to the configured issuer).
    public let issuer: String
    /// When the token expires (its `exp` claim).
    public let expiresAt: Date

    /// Creates a user; verifiers do this, and tests use it for fakes.
    ///
    /// - Parameters:
    ///   - subject: The `sub` claim.
    ///   - issuer: The `iss` claim.
    ///   - expiresAt: The `exp` claim.
    public init(subject: String, issuer: String, expiresAt: Date) {
        self.subject = subject
        self.issuer = issuer
        self.expiresAt = expiresAt
    }
}
