import S3

/// A bucket setting `hoist bucket setup` manages and `hoist bucket doctor` checks (`--only` names them).
public enum BucketSetting: String, CaseIterable, Sendable, Hashable, Comparable {
    /// CORS rules for the app's origins: what lets a browser PUT with a pre-signed URL.
    case cors
    /// Bucket versioning.
    case versioning
    /// Default encryption (SSE-S3 or SSE-KMS).
    case encryption
    /// Block Public Access, all four settings.
    case publicAccess = "public-access"
    /// A bucket policy that refuses requests without TLS.
    case tlsPolicy = "tls-policy"
    /// Lifecycle: incomplete multipart uploads, noncurrent versions, `quarantine/`.
    case lifecycle
    /// Event notifications of new uploads under `articles/` to the worker's queue.
    case notification

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a) ?? 0 < allCases.firstIndex(of: b) ?? 0
    }
}

/// What the bucket should look like: the configuration `hoist api` reads, and the options of
/// `hoist bucket setup` / `doctor` that override it.
///
/// ```swift
/// let wants = BucketWants(bucket: "my-images", origins: ["https://app.example.com"], endpointUsesTLS: true)
/// ```
public struct BucketWants: Sendable {
    /// The bucket.
    public var bucket: String
    /// Browser origins the app runs on (`*` only when asked for explicitly).
    public var origins: [String]
    /// The SQS queue new uploads are announced to (`nil`: notifications are left as they are).
    public var queueArn: String?
    /// SSE-KMS with this key; `nil`: SSE-S3 (`AES256`).
    public var kmsKeyId: String?
    /// Days after which noncurrent versions and `quarantine/` objects are deleted.
    public var retentionDays: Int
    /// Lifetime of upload URLs (`HOIST_URL_EXPIRY`), which credentials should outlive.
    public var urlExpiry: Int
    /// The settings to set up or check (`--only`); all by default.
    public var only: Set<BucketSetting>
    /// Whether the endpoint is `https` (a TLS-only policy on a plain-http endpoint would refuse every request).
    public var endpointUsesTLS: Bool
    /// The options the doctor was given, repeated in its `fix:` lines after `hoist bucket setup --only X`
    /// (`--bucket my-images`, `--origin 'https://app.example.com'`).
    public var setupArguments: [String]

    /// Creates the wanted state.
    public init(bucket: String, origins: [String], queueArn: String? = nil, kmsKeyId: String? = nil, retentionDays: Int = 30,
                urlExpiry: Int = 900, only: Set<BucketSetting> = Set(BucketSetting.allCases), endpointUsesTLS: Bool = true,
                setupArguments: [String] = []) {
        self.bucket = bucket
        self.origins = origins
        self.queueArn = queueArn
        self.kmsKeyId = kmsKeyId
        self.retentionDays = retentionDays
        self.urlExpiry = urlExpiry
        self.only = only
        self.endpointUsesTLS = endpointUsesTLS
        self.setupArguments = setupArguments
    }

    // MARK: What Hoist's uploads need

    /// The `ID` of the CORS rule setup writes.
    public static let corsRuleID = "hoist-uploads"
    /// Methods the app's pages use: pre-signed PUTs, POST forms, GETs of downloads.
    public static let corsMethods = ["PUT", "POST", "GET", "HEAD"]
    /// Headers a browser may send with a pre-signed PUT: those the upload URLs bind (`Content-Type`,
    /// `Content-Length`, `If-None-Match`, `x-amz-checksum-sha256`), `Content-MD5`, and any `x-amz-*`.
    /// `x-amz-checksum-sha256` is named as well as matched by `x-amz-*`: some endpoints (moto) answer a
    /// preflight with the rule's patterns as written, which a browser reads literally.
    public static let corsHeaders = ["content-type", "content-length", "content-md5", "if-none-match", "x-amz-checksum-sha256", "x-amz-*"]
    /// Headers a browser sends in the preflight of an upload (`Content-Length` is the browser's own).
    public static let preflightHeaders = ["content-type", "if-none-match", "x-amz-checksum-sha256"]
    /// Response headers the page must read: the stored object's `ETag` and its version.
    public static let corsExposeHeaders = ["ETag", "x-amz-version-id"]
    /// How long a browser may cache a preflight.
    public static let corsMaxAge = 3000
    /// Lifecycle rule ids setup writes.
    public static let abortRuleID = "hoist-abort-incomplete-uploads"
    public static let noncurrentRuleID = "hoist-noncurrent-versions"
    public static let quarantineRuleID = "hoist-quarantine"
    /// The prefix of rejected uploads (the image worker's quarantine).
    public static let quarantinePrefix = "quarantine/"
    /// The prefix of uploads the worker is notified of.
    public static let uploadsPrefix = "articles/"
    /// The event of new uploads.
    public static let createdEvent = "s3:ObjectCreated:*"
    /// The `Id` of the queue configuration setup writes.
    public static let notificationID = "hoist-articles"
    /// The `Sid` of the TLS-only statement setup writes.
    public static let tlsStatementID = "HoistDenyInsecureTransport"

    /// The CORS rule for ``origins``.
    public var corsRule: S3CORSRule {
        S3CORSRule(id: Self.corsRuleID, allowedOrigins: origins, allowedMethods: Self.corsMethods, allowedHeaders: Self.corsHeaders,
                   exposeHeaders: Self.corsExposeHeaders, maxAgeSeconds: Self.corsMaxAge)
    }

    /// The default encryption wanted.
    public var encryption: S3BucketEncryption {
        if let kmsKeyId { return S3BucketEncryption(algorithm: "aws:kms", kmsKeyId: kmsKeyId, bucketKeyEnabled: true) }
        return S3BucketEncryption(algorithm: "AES256")
    }

    /// The lifecycle rules wanted, all three.
    public var lifecycleRules: [S3LifecycleRule] {
        [S3LifecycleRule(id: Self.abortRuleID, prefix: "", abortIncompleteMultipartUploadDays: 1),
         S3LifecycleRule(id: Self.noncurrentRuleID, prefix: "", noncurrentVersionExpirationDays: retentionDays),
         S3LifecycleRule(id: Self.quarantineRuleID, prefix: Self.quarantinePrefix, expirationDays: retentionDays)]
    }

    /// The command that sets up `setting` with the same options.
    public func setupCommand(only setting: BucketSetting? = nil) -> String {
        (["hoist bucket setup"] + (setting.map { ["--only", $0.rawValue] } ?? []) + setupArguments).joined(separator: " ")
    }

    /// Whether a wildcard origin was asked for explicitly.
    public var allowsAnyOrigin: Bool { origins.contains("*") }
}
