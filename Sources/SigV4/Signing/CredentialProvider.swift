import Foundation

/// Gives the credentials to sign with: long-lived keys, or temporary ones that change over time
/// (a container's or an instance's role).
///
/// Ask again for every request: a provider of temporary credentials answers from its cache and
/// refreshes before they expire. A request keeps the credentials it started with.
///
/// ```swift
/// let provider: any CredentialProvider = StaticCredentialProvider(credentials)
/// let signer = SigV4Signer(credentials: try await provider.credentials(), region: "us-east-1")
/// ```
public protocol CredentialProvider: Sendable {
    /// The credentials to sign with now.
    /// - Throws: when none can be had (the provider's own error, with what it tried).
    func credentials() async throws -> SigV4Credentials
}

/// Credentials that never change: access keys from the environment or a profile, or a test's.
public struct StaticCredentialProvider: CredentialProvider {
    /// The credentials given every time.
    public let value: SigV4Credentials

    /// Creates a provider that always answers `credentials`.
    public init(_ credentials: SigV4Credentials) {
        self.value = credentials
    }

    /// The fixed credentials.
    public func credentials() -> SigV4Credentials { value }
}
