import Auth
import Foundation
import ImageWorker
import S3
import Uploads
import UploadsPostgres

/// Everything `hoist serve` and `hoist api` need, with defaults that run the
/// whole flow on one machine with no configuration.
///
/// Read from the environment by ``HoistConfiguration/init(environment:)``;
/// every variable is listed in README.md ("Configuration").
public struct HoistConfiguration: Sendable {
    /// How callers are authenticated.
    public enum AuthMode: Sendable, Equatable {
        /// The built-in dev issuer: RS256 key in the data folder, JWKS served by the API.
        case dev
        /// Any OIDC issuer, through its JWKS URL.
        case oidc(issuer: String, jwksURL: String, audiences: Set<String>)
        /// An Amazon Cognito user pool.
        case cognito(region: String, userPoolId: String, clientIds: Set<String>, tokenUses: Set<String>)
    }

    /// The data folder: store index and blobs, records, dev-issuer key, credentials.
    public var dataDirectory: URL = URL(fileURLWithPath: "hoist-data")
    /// Where the API listens.
    public var apiHost = "127.0.0.1"
    public var apiPort = 8080
    /// The API's public base URL (the dev issuer's `iss`), default `http://<apiHost>:<apiPort>`.
    public var publicURL: String?
    /// Where the embedded store listens (`hoist serve`).
    public var storeHost = "127.0.0.1"
    public var storePort = 9000
    /// How often the embedded store delivers server access logs, in seconds (`HOIST_ACCESS_LOG_INTERVAL`).
    public var storeAccessLogInterval = 60
    /// The S3 endpoint URLs are signed for (`hoist api`); `nil` means AWS S3 in ``region``.
    public var s3Endpoint: String?
    /// Path-style or virtual-hosted URLs; default path-style for an explicit endpoint, virtual for AWS.
    public var addressing: S3Endpoint.Addressing?
    /// The bucket.
    public var bucket = "article-images"
    /// The region of the signatures' scope.
    public var region = "us-east-1"
    /// The upload policy.
    public var policy = UploadPolicy()
    /// How callers are authenticated.
    public var auth: AuthMode = .dev
    /// Browser origins allowed to PUT to the bucket (`hoist serve` writes them into its CORS rules).
    public var corsOrigins: [String] = []
    /// The shared-credentials profile to sign with (`hoist api`), instead of the environment's keys.
    public var awsProfile: String?
    /// Where `hoist api` and `hoist worker` find AWS credentials: the environment's keys, the
    /// shared file, or the container credentials endpoint (ECS task roles), over the environment
    /// the configuration was read from.
    public var credentialChain = CredentialChain()

    /// PostgreSQL for the upload records and the shared rate limit (`HOIST_DATABASE_URL`, or
    /// `--database` on `hoist api` / `hoist worker`), so several API replicas and workers share them;
    /// `nil` (the default) keeps them in SQLite in the data folder and the limit in process.
    /// Its pool size and timeouts: `HOIST_DATABASE_POOL_SIZE`, `HOIST_DATABASE_CONNECT_TIMEOUT`,
    /// `HOIST_DATABASE_TIMEOUT`.
    public var postgres: PostgresConfiguration?
    /// `HOIST_EVENTS_TOKEN`: turns on `POST /events/s3` in `hoist api`, the receiver of storage
    /// event pushes (Ceph RGW topics) into the PostgreSQL queue; the token the pushes must carry.
    public var eventsToken: String?
    /// `HOIST_METRICS_EMF=on`: the metrics also go to standard output in CloudWatch's Embedded
    /// Metric Format, every `HOIST_METRICS_EMF_INTERVAL` seconds (``EMFReporter``).
    public var metricsEMF = false
    public var metricsEMFInterval = 60

    /// The image worker inside `hoist serve`.
    public var worker = WorkerSettings()

    /// The image worker's settings.
    public struct WorkerSettings: Sendable {
        /// Whether `hoist serve` runs the worker.
        public var enabled = true
        /// The worker's own settings (pixel limit, concurrency, visibility timeout).
        public var imageWorker = ImageWorker.Configuration()
        /// Deliveries of an event before it goes to the dead-letter set.
        public var maxReceiveCount = 5
        /// Seconds after its URL expired before a `pending` record becomes `expired`.
        public var pendingGrace = 300
        /// `hoist worker`: the port of its `/metrics` and `/healthz` (on the API host), if any.
        public var metricsPort: Int?
    }

    /// The embedded store's queue the worker consumes.
    public static let eventQueueName = "hoist-events"

    /// Creates the default configuration.
    public init() {}

    /// The API's base URL.
    public var apiBaseURL: String { publicURL ?? "http://\(apiHost):\(apiPort)" }
    /// The embedded store's URL.
    public var storeURL: String { "http://\(storeHost):\(storePort)" }
    /// CORS origins, defaulting to the API's own origin (the web page's).
    public var effectiveCORSOrigins: [String] {
        corsOrigins.isEmpty ? [apiBaseURL, "http://localhost:\(apiPort)"] : corsOrigins
    }
}

/// A setting that cannot be used.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension HoistConfiguration {
    /// Reads the `HOIST_*` variables (and `AWS_REGION`); unset ones keep their defaults.
    /// - Throws: ``ConfigurationError`` naming the variable and what is wrong.
    public init(environment: [String: String]) throws {
        self.init()
        func value(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        func integer(_ name: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let text = value(name) else { return nil }
            guard let number = Int(text), range.contains(number) else {
                throw ConfigurationError("\(name) must be a whole number in \(range.lowerBound)…\(range.upperBound); got '\(text)'.")
            }
            return number
        }
        func list(_ name: String) -> [String]? {
            value(name).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        }
        if let v = value("HOIST_DATA") { dataDirectory = URL(fileURLWithPath: v) }
        if let v = value("HOIST_API_HOST") { apiHost = v }
        if let v = try integer("HOIST_API_PORT", 0...65535) { apiPort = v }
        publicURL = value("HOIST_PUBLIC_URL").map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        if let v = value("HOIST_STORE_HOST") { storeHost = v }
        if let v = try integer("HOIST_STORE_PORT", 0...65535) { storePort = v }
        if let v = try integer("HOIST_ACCESS_LOG_INTERVAL", 1...86_400) { storeAccessLogInterval = v }
        s3Endpoint = value("HOIST_S3_ENDPOINT")
        if let v = value("HOIST_S3_ADDRESSING") {
            guard let a = S3Endpoint.Addressing(rawValue: v) else { throw ConfigurationError("HOIST_S3_ADDRESSING must be path or virtual; got '\(v)'.") }
            addressing = a
        }
        if let v = value("HOIST_BUCKET") { bucket = v }
        if let v = value("HOIST_REGION") ?? value("AWS_REGION") ?? value("AWS_DEFAULT_REGION") { region = v }
        if let v = try integer("HOIST_URL_EXPIRY", 1...604_800) { policy.uploadURLExpiry = v }
        if let v = try integer("HOIST_DOWNLOAD_URL_EXPIRY", 1...604_800) { policy.downloadURLExpiry = v }
        if let v = try integer("HOIST_MAX_SIZE", 1...5 * 1024 * 1024 * 1024) { policy.maximumSize = Int64(v) }
        if let v = try integer("HOIST_MULTIPART_EXPIRY", 60...604_800) { policy.multipartUploadExpiry = v }
        if let types = list("HOIST_ALLOWED_TYPES") {
            var allowed: [String: String] = [:]
            for type in types {
                let lower = type.lowercased()
                guard lower.hasPrefix("image/"), let ext = UploadPolicy.defaultTypes[lower] ?? lower.split(separator: "/").last.map(String.init) else {
                    throw ConfigurationError("HOIST_ALLOWED_TYPES lists '\(type)', which is not an image type.")
                }
                allowed[lower] = ext.replacingOccurrences(of: "+xml", with: "")
            }
            policy.allowedTypes = allowed
        }
        if let v = try integer("HOIST_RATE_PER_MINUTE", 1...1_000_000) { policy.ratePerMinute = Double(v) }
        if let v = try integer("HOIST_RATE_BURST", 1...1_000_000) { policy.burst = Double(v) }
        if let origins = list("HOIST_CORS_ORIGINS") {
            guard !origins.contains("*") else { throw ConfigurationError("HOIST_CORS_ORIGINS must list origins; '*' is not allowed.") }
            corsOrigins = origins
        }
        awsProfile = value("HOIST_AWS_PROFILE")
        credentialChain = CredentialChain(environment: environment)
        if let url = value("HOIST_DATABASE_URL") {
            do { postgres = try PostgresConfiguration(url: url) } catch {
                throw ConfigurationError("HOIST_DATABASE_URL: \(error.message)")
            }
        }
        if let token = value("HOIST_EVENTS_TOKEN") {
            guard postgres != nil else {
                throw ConfigurationError("HOIST_EVENTS_TOKEN turns on the event receiver, which queues in PostgreSQL: set HOIST_DATABASE_URL too.")
            }
            guard token.utf8.count >= 24, token.utf8.allSatisfy({ (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "&") && $0 != UInt8(ascii: "#") }) else {
                throw ConfigurationError("HOIST_EVENTS_TOKEN must be at least 24 printable characters without spaces, '&' or '#' (it goes in a URL's query).")
            }
            eventsToken = token
        }
        if let v = value("HOIST_METRICS_EMF") {
            guard ["on", "off"].contains(v) else { throw ConfigurationError("HOIST_METRICS_EMF must be on or off; got '\(v)'.") }
            metricsEMF = v == "on"
        }
        if let v = try integer("HOIST_METRICS_EMF_INTERVAL", 1...3600) { metricsEMFInterval = v }
        if let v = try integer("HOIST_DATABASE_POOL_SIZE", 1...1000) { postgres?.maximumConnections = v }
        if let v = try integer("HOIST_DATABASE_CONNECT_TIMEOUT", 1...300) { postgres?.connectTimeout = .seconds(v) }
        if let v = try integer("HOIST_DATABASE_TIMEOUT", 1...300) { postgres?.queryTimeout = .seconds(v) }
        if let v = value("HOIST_WORKER") {
            guard ["on", "off"].contains(v) else { throw ConfigurationError("HOIST_WORKER must be on or off; got '\(v)'.") }
            worker.enabled = v == "on"
        }
        if let v = try integer("HOIST_MAX_PIXELS", 1...1_000_000_000) { worker.imageWorker.maximumPixels = v }
        worker.imageWorker.variants = try Self.variantPlan(widths: list("HOIST_VARIANT_WIDTHS"), formats: list("HOIST_VARIANT_FORMATS"))
        if let v = try integer("HOIST_WORKER_CONCURRENCY", 1...10) { worker.imageWorker.concurrency = v }
        if let v = try integer("HOIST_WORKER_VISIBILITY_TIMEOUT", 1...43_200) { worker.imageWorker.visibilityTimeout = v }
        if let v = try integer("HOIST_WORKER_MAX_RECEIVES", 1...1000) { worker.maxReceiveCount = v }
        if let v = try integer("HOIST_PENDING_GRACE", 0...604_800) { worker.pendingGrace = v }
        worker.metricsPort = try integer("HOIST_WORKER_METRICS_PORT", 1...65535)
        switch value("HOIST_AUTH") ?? "dev" {
        case "dev":
            auth = .dev
        case "oidc":
            guard let issuer = value("HOIST_OIDC_ISSUER"), let audiences = list("HOIST_OIDC_AUDIENCES"), !audiences.isEmpty else {
                throw ConfigurationError("HOIST_AUTH=oidc needs HOIST_OIDC_ISSUER and HOIST_OIDC_AUDIENCES (and optionally HOIST_OIDC_JWKS_URL).")
            }
            let trimmed = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
            auth = .oidc(issuer: issuer, jwksURL: value("HOIST_OIDC_JWKS_URL") ?? trimmed + "/.well-known/jwks.json", audiences: Set(audiences))
        case "cognito":
            guard let pool = value("HOIST_COGNITO_USER_POOL_ID"), let clients = list("HOIST_COGNITO_CLIENT_IDS"), !clients.isEmpty else {
                throw ConfigurationError("HOIST_AUTH=cognito needs HOIST_COGNITO_USER_POOL_ID and HOIST_COGNITO_CLIENT_IDS (and HOIST_COGNITO_REGION).")
            }
            let uses = Set(list("HOIST_COGNITO_TOKEN_USE") ?? ["access", "id"])
            guard uses.isSubset(of: ["access", "id"]) else { throw ConfigurationError("HOIST_COGNITO_TOKEN_USE may list access and id only.") }
            auth = .cognito(region: value("HOIST_COGNITO_REGION") ?? region, userPoolId: pool, clientIds: Set(clients), tokenUses: uses)
        case let other:
            throw ConfigurationError("HOIST_AUTH must be dev, oidc or cognito; got '\(other)'.")
        }
    }

    /// The responsive variants from `HOIST_VARIANT_WIDTHS` (pixel widths, e.g. `320,640,1280,1920`)
    /// and `HOIST_VARIANT_FORMATS` (`webp`, `avif`); an unset list keeps its default.
    /// - Throws: ``ConfigurationError`` naming the variable and the value that is wrong.
    static func variantPlan(widths: [String]?, formats: [String]?) throws -> VariantPlan {
        let standard = VariantPlan.standard
        var parsedWidths = standard.widths
        if let widths {
            parsedWidths = []
            for text in widths {
                guard let width = Int(text) else {
                    throw ConfigurationError("HOIST_VARIANT_WIDTHS lists '\(text)', which is not a whole number of pixels.")
                }
                parsedWidths.append(width)
            }
        }
        var parsedFormats = standard.formats
        if let formats {
            parsedFormats = []
            for text in formats {
                guard let format = ImageVariant.Format(rawValue: text.lowercased()) else {
                    let known = ImageVariant.Format.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ConfigurationError("HOIST_VARIANT_FORMATS lists '\(text)'; the formats are \(known).")
                }
                parsedFormats.append(format)
            }
        }
        do {
            return try VariantPlan(widths: parsedWidths, formats: parsedFormats)
        } catch {
            let message = String(describing: error)
            let name = parsedWidths.isEmpty || message.contains("width") ? "HOIST_VARIANT_WIDTHS" : "HOIST_VARIANT_FORMATS"
            throw ConfigurationError("\(name): \(message).")
        }
    }

    /// The verifier configuration for an external issuer (`nil` for the dev issuer).
    var externalVerifierConfiguration: JWTVerifierConfiguration? {
        switch auth {
        case .dev: return nil
        case let .oidc(issuer, jwksURL, audiences):
            return JWTVerifierConfiguration(issuer: issuer, jwksURL: jwksURL, audiences: audiences, kind: .oidc)
        case let .cognito(region, pool, clients, uses):
            return .cognito(region: region, userPoolId: pool, clientIds: clients, tokenUses: uses)
        }
    }
}
