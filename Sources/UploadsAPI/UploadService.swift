import Auth
import Foundation
import HoistSupport
import Logging
import Metrics
import S3
import SigV4
import Synchronization
import Uploads

/// Where uploads go: an S3 endpoint, a bucket, and where the credentials that sign come from.
public struct StorageTarget: Sendable {
    /// The S3 endpoint (the embedded store, AWS S3, any S3-compatible service).
    public var endpoint: S3Endpoint
    /// The bucket that holds the images.
    public var bucket: String
    /// The region of the signatures' scope.
    public var region: String
    /// The source of the credentials that sign URLs (fixed keys, or a container role's, which
    /// change over time); a URL never outlives the credentials that signed it.
    public var credentials: any CredentialProvider

    /// Creates a target signed with fixed credentials.
    public init(endpoint: S3Endpoint, bucket: String, region: String, credentials: SigV4Credentials) {
        self.init(endpoint: endpoint, bucket: bucket, region: region, credentials: StaticCredentialProvider(credentials))
    }

    /// Creates a target signed with whatever `credentials` gives when each URL is signed.
    public init(endpoint: S3Endpoint, bucket: String, region: String, credentials: any CredentialProvider) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.credentials = credentials
    }
}

/// The answer to `POST /upload-url` (the original Lambda's fields, and more).
public struct UploadURLResponse: Codable, Sendable, Equatable {
    public var uploadUrl: String
    public var key: String
    public var articleId: String
    public var expiresIn: Int
    public var expiresAt: String
    public var method: String
    /// Every header the client must send for the signature to hold.
    public var headers: [String: String]
}

extension UploadURLResponse {
    /// The response as JSON with sorted keys, written directly into one buffer: this is
    /// the hot path of the API, and `JSONEncoder` costs more than the signature.
    var jsonText: String {
        var out = ""
        out.reserveCapacity(256 + uploadUrl.utf8.count + key.utf8.count)
        out += "{\"articleId\":"
        JSONText.appendQuoted(articleId, to: &out)
        out += ",\"expiresAt\":"
        JSONText.appendQuoted(expiresAt, to: &out)
        out += ",\"expiresIn\":"
        out += String(expiresIn)
        out += ",\"headers\":{"
        for (i, (name, value)) in headers.sorted(by: { $0.key < $1.key }).enumerated() {
            if i > 0 { out += "," }
            JSONText.appendQuoted(name, to: &out)
            out += ":"
            JSONText.appendQuoted(value, to: &out)
        }
        out += "},\"key\":"
        JSONText.appendQuoted(key, to: &out)
        out += ",\"method\":"
        JSONText.appendQuoted(method, to: &out)
        out += ",\"uploadUrl\":"
        JSONText.appendQuoted(uploadUrl, to: &out)
        out += "}"
        return out
    }
}


/// The answer to `GET /download-url`.
public struct DownloadURLResponse: Codable, Sendable, Equatable {
    public var downloadUrl: String
    public var key: String
    public var expiresIn: Int
    public var expiresAt: String
}

/// The upload domain: policy checks, key layout, pre-signing, ownership and records.
/// Knows nothing of HTTP; ``UploadsAPI`` puts it on routes.
public struct UploadService: Sendable {
    let policy: UploadPolicy
    let target: StorageTarget
    /// The signer of the target's current credentials: taken afresh for each URL.
    let signers: RotatingSigner
    let records: any UploadRecordStore
    /// The multipart calls the API makes on storage itself.
    let multipart: any MultipartStorage
    let limiter: any UploadRateLimiter
    let clock: @Sendable () -> Date
    let metrics: UploadMetrics
    let logger: Logger?
    let shortenedURLs = ShortenedURLWarning()

    /// Creates the service.
    /// - Parameters:
    ///   - policy: allowed types, size limit, lifetimes, rate limit.
    ///   - target: the storage URLs are signed for.
    ///   - records: articles and upload records.
    ///   - limiter: the per-user limit on issued URLs; default an in-process token bucket of the
    ///     policy's rate and burst (a shared one, e.g. in PostgreSQL, when several replicas serve).
    ///   - multipart: the storage calls of multipart uploads; default the target's S3 over HTTP
    ///     (``S3MultipartStorage``), signed with the target's credentials.
    ///   - metricsFactory: where metrics go (the process's facade by default).
    ///   - clock: the time (injected in tests).
    ///   - logger: where credential failures and URLs cut short by expiring credentials are logged.
    public init(policy: UploadPolicy, target: StorageTarget, records: any UploadRecordStore,
                limiter: (any UploadRateLimiter)? = nil, multipart: (any MultipartStorage)? = nil,
                metricsFactory: (any MetricsFactory)? = nil, clock: @escaping @Sendable () -> Date = { Date() },
                logger: Logger? = nil) {
        self.policy = policy
        self.target = target
        self.signers = RotatingSigner(provider: target.credentials, region: target.region)
        self.logger = logger
        self.records = records
        self.multipart = multipart ?? S3MultipartStorage(
            client: S3Client(endpoint: target.endpoint, region: target.region, credentials: target.credentials, logger: nil),
            bucket: target.bucket)
        self.limiter = limiter ?? RateLimiter(ratePerMinute: policy.ratePerMinute, burst: policy.burst)
        self.clock = clock
        self.metrics = UploadMetrics(factory: metricsFactory ?? MetricsSystem.factory)
    }

    /// The policy in force (served to clients so they can check files before uploading).
    public var currentPolicy: UploadPolicy { policy }

    /// Issues a pre-signed PUT for a new object in one of the caller's articles.
    func issueUploadURL(for user: AuthenticatedUser, body: [UInt8]) async throws(APIError) -> UploadURLResponse {
        let now = clock()
        let request = try UploadURLRequest(body: body, policy: policy)
        // The limit is on issued URLs: a refused request costs nothing.
        try await acquireRateLimit(user, now: now)
        let articleId = request.articleId ?? UploadKey.randomUUID()
        let ext = policy.allowedTypes[request.contentType] ?? "bin"
        let key = UploadKey(articleId: articleId, uuid: UploadKey.timeOrderedUUID(now: now), ext: ext).key

        var headers: [(String, String)] = [("Content-Type", request.contentType)]
        if let size = request.size { headers.append(("Content-Length", String(size))) }
        headers.append(("If-None-Match", "*"))
        if let checksum = request.checksumSHA256 { headers.append(("x-amz-checksum-sha256", checksum)) }
        let presigned = try await presign(method: "PUT", key: key, headers: headers, expires: policy.uploadURLExpiry, now: now)

        let record = UploadRecord(key: key, articleId: articleId, owner: user.subject, contentType: request.contentType,
                                  size: request.size, checksumSHA256: request.checksumSHA256, issuedAt: now,
                                  expiresAt: presigned.expiresAt, status: .pending)
        let recorded: Bool
        do {
            recorded = try await records.record(record)
        } catch {
            throw Self.apiError(error, otherwise: "The upload record could not be written.")
        }
        guard recorded else {
            throw APIError.forbidden("The article \(articleId) belongs to another user.")
        }
        return UploadURLResponse(uploadUrl: presigned.url, key: key, articleId: articleId, expiresIn: presigned.expiresIn,
                                 expiresAt: AMZDate(presigned.expiresAt).iso8601String, method: "PUT",
                                 headers: Dictionary(headers, uniquingKeysWith: { $1 }))
    }

    /// Takes one issuance from the caller's rate limit.
    /// - Throws: ``APIError`` 429 `rate_limited` with `Retry-After`, or 503 when the limit cannot be checked.
    func acquireRateLimit(_ user: AuthenticatedUser, now: Date) async throws(APIError) {
        let waitSeconds: Int?
        do { waitSeconds = try await limiter.acquire(user.subject, now: now) } catch {
            throw Self.apiError(error, otherwise: "The rate limit could not be checked.")
        }
        if let wait = waitSeconds {
            metrics.rateLimited.increment()
            var error = APIError(.tooManyRequests, "rate_limited", "Too many upload URLs; try again in \(wait) s.")
            error.headers[.retryAfter] = String(wait)
            throw error
        }
    }

    /// Issues a pre-signed GET for an object in one of the caller's articles.
    func issueDownloadURL(for user: AuthenticatedUser, key: String?) async throws(APIError) -> DownloadURLResponse {
        guard let key, !key.isEmpty else { throw APIError.badRequest("The query parameter key is required.") }
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == "articles", UploadKey.isUUID(String(parts[1])),
              parts[1] == parts[1].lowercased(), !key.contains("//"),
              !parts.contains(where: { $0 == ".." || $0 == "." || $0.isEmpty }) else {
            throw APIError.forbidden("You can only download objects of your own articles (articles/<articleId>/…).")
        }
        let owner: String?
        do { owner = try await records.owner(ofArticle: String(parts[1])) } catch {
            throw Self.apiError(error, otherwise: "The article could not be read.")
        }
        guard owner == user.subject else {
            throw APIError.forbidden("You can only download objects of your own articles.")
        }
        let presigned = try await presign(method: "GET", key: key, headers: [], expires: policy.downloadURLExpiry, now: clock())
        return DownloadURLResponse(downloadUrl: presigned.url, key: key, expiresIn: presigned.expiresIn,
                                   expiresAt: AMZDate(presigned.expiresAt).iso8601String)
    }

    /// The caller's uploads in one of their articles.
    func uploads(for user: AuthenticatedUser, articleId: String) async throws(APIError) -> [UploadRecord] {
        guard UploadKey.isUUID(articleId) else {
            throw APIError.badRequest("articleId must be a UUID.")
        }
        let id = articleId.lowercased()
        do {
            guard let owner = try await records.owner(ofArticle: id) else { throw APIError.notFound("No article \(id).") }
            guard owner == user.subject else { throw APIError.forbidden("The article \(id) belongs to another user.") }
            return try await records.uploads(inArticle: id)
        } catch let error as APIError {
            throw error
        } catch {
            throw Self.apiError(error, otherwise: "The uploads could not be read.")
        }
    }

    /// Pre-signed GET URLs of a record's derived images and variants, by key (none when the
    /// credentials cannot sign). A key both lists name is signed once.
    func derivedURLs(_ record: UploadRecord) async -> [String: String] {
        guard !record.derived.isEmpty || !record.variants.isEmpty else { return [:] }
        let now = clock()
        var urls: [String: String] = [:]
        for key in Array(record.derived.values) + record.variants.map(\.key) where urls[key] == nil {
            urls[key] = try? await presign(method: "GET", key: key, headers: [], expires: policy.downloadURLExpiry, now: now).url
        }
        return urls
    }

    /// The API's answer to a records or rate-limit failure: 503 `database_unavailable` with
    /// `Retry-After` when the database cannot be reached (the client may retry), else 500.
    static func apiError(_ error: any Error, otherwise message: String) -> APIError {
        guard let unavailable = error as? DatabaseUnavailableError else {
            return APIError(.internalServerError, "internal_error", message)
        }
        var answer = APIError(.serviceUnavailable, "database_unavailable",
                              "The database is unavailable; try again in \(unavailable.retryAfter) s.")
        answer.headers[.retryAfter] = String(unavailable.retryAfter)
        return answer
    }

    /// Signs with the credentials current now; a URL the credentials' expiry cuts short is
    /// logged (once per credentials).
    func presign(method: String, key: String, query: [(String, String)] = [], headers: [(String, String)], expires: Int,
                 now: Date) async throws(APIError) -> PresignedRequest {
        let (host, path) = target.endpoint.location(bucket: target.bucket, key: key)
        let signer: SigV4Signer
        do {
            signer = try await signers.signer()
        } catch {
            logger?.error("storage credentials unavailable: URLs cannot be signed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "credentials_unavailable", "The storage credentials cannot be had; URLs cannot be signed.")
        }
        let presigned: PresignedRequest
        do {
            presigned = try signer.presign(method: method, scheme: target.endpoint.scheme, host: host, path: path,
                                           query: query, headers: headers, expires: expires, date: now)
        } catch {
            throw APIError(.serviceUnavailable, "credentials_expired", "The storage credentials have expired; URLs cannot be signed.")
        }
        if presigned.expiresIn < expires, shortenedURLs.shouldWarn(signer.credentials) {
            logger?.warning("pre-signed URLs are cut short: the signing credentials expire sooner than the URLs' lifetime",
                            metadata: ["url.expiresIn": "\(presigned.expiresIn)", "url.requestedExpiry": "\(expires)",
                                       "credentials.accessKeyId": "\(signer.credentials.accessKeyId)",
                                       "credentials.expiration": "\(signer.credentials.expiration.map { AMZDate($0).iso8601String } ?? "none")"])
        }
        return presigned
    }
}

/// Remembers which credentials were already reported for cutting URLs short, so the log gets one
/// warning per credentials, not one per URL.
final class ShortenedURLWarning: Sendable {
    private let warned = Mutex<(accessKeyId: String, expiration: Date?)?>(nil)

    /// Whether to warn for `credentials` (true once for each).
    func shouldWarn(_ credentials: SigV4Credentials) -> Bool {
        warned.withLock { last in
            if let last, last.accessKeyId == credentials.accessKeyId, last.expiration == credentials.expiration { return false }
            last = (credentials.accessKeyId, credentials.expiration)
            return true
        }
    }
}

/// The API's metrics, through the swift-metrics facade.
final class UploadMetrics: Sendable {
    let factory: any MetricsFactory
    let rateLimited: Counter
    let issuance: Timer
    /// One counter per outcome, made on first use: the hot path only looks it up.
    private let outcomes = Mutex<[String: Counter]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        rateLimited = Counter(label: "hoist_rate_limited_total", dimensions: [], factory: factory)
        issuance = Timer(label: "hoist_upload_url_duration_seconds", dimensions: [], factory: factory)
    }

    func request(outcome: String) {
        let counter = outcomes.withLock { counters in
            if let existing = counters[outcome] { return existing }
            let made = Counter(label: "hoist_upload_url_requests_total", dimensions: [("outcome", outcome)], factory: factory)
            counters[outcome] = made
            return made
        }
        counter.increment()
    }
}
