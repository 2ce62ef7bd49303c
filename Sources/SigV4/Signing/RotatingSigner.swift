import Synchronization

/// A ``SigV4Signer`` for whatever credentials a ``CredentialProvider`` gives now.
///
/// The signer, and with it the derived signing key, is made again only when the credentials
/// change (a refresh of temporary credentials); otherwise the same signer is handed out, so its
/// key of the day stays warm. Callers take one signer per request: a request in flight keeps
/// the credentials it started with.
///
/// ```swift
/// let signers = RotatingSigner(provider: provider, region: "eu-west-1")
/// let signed = try await signers.signer().signHeaders(method: "GET", host: host, path: path,
///                                                     payloadHash: PayloadHash.emptySHA256, date: Date())
/// ```
public final class RotatingSigner: Sendable {
    /// Where the credentials come from.
    public let provider: any CredentialProvider
    /// The scope region.
    public let region: String
    /// The scope service (`s3`, `sqs`).
    public let service: String
    /// Whether paths are normalised before signing (never for S3).
    public let normalizePath: Bool

    private let keyCache: SigningKeyCache
    private let current = Mutex<SigV4Signer?>(nil)

    /// Creates a rotating signer.
    /// - Parameters:
    ///   - provider: the source of credentials.
    ///   - region: the region of the credential scope.
    ///   - service: the service of the credential scope.
    ///   - normalizePath: normalise paths before signing (never for S3).
    ///   - keyCache: where derived signing keys are kept.
    public init(provider: any CredentialProvider, region: String, service: String = "s3",
                normalizePath: Bool = false, keyCache: SigningKeyCache = .shared) {
        self.provider = provider
        self.region = region
        self.service = service
        self.normalizePath = normalizePath
        self.keyCache = keyCache
    }

    /// Creates a rotating signer over fixed credentials.
    public convenience init(credentials: SigV4Credentials, region: String, service: String = "s3",
                            normalizePath: Bool = false, keyCache: SigningKeyCache = .shared) {
        self.init(provider: StaticCredentialProvider(credentials), region: region, service: service,
                  normalizePath: normalizePath, keyCache: keyCache)
    }

    /// The signer for the provider's current credentials.
    /// - Throws: the provider's error when it has no credentials.
    public func signer() async throws -> SigV4Signer {
        let credentials = try await provider.credentials()
        return signer(for: credentials)
    }

    /// The signer for `credentials`: the one already made when they are the same.
    public func signer(for credentials: SigV4Credentials) -> SigV4Signer {
        if let existing = current.withLock({ $0 }), existing.credentials == credentials {
            return existing
        }
        let made = SigV4Signer(credentials: credentials, region: region, service: service,
                               normalizePath: normalizePath, keyCache: keyCache)
        current.withLock { $0 = made }
        return made
    }
}
