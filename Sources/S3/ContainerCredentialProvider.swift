import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import SigV4
import Synchronization
import _NIOFileSystem

/// A container's role credentials (ECS task roles, EKS Pod Identity), fetched from the endpoint
/// the environment names (``ContainerCredentialsEndpoint``), cached, and fetched again before
/// they expire.
///
/// Credentials are answered from the cache without waiting while more than `refreshBefore`
/// seconds remain. Then one fetch runs for every caller (the others wait on it); a new fetch
/// starts at most once per `minimumRefreshInterval` while the cached credentials still work,
/// and a failed fetch keeps them (with a warning) until they expire. Secrets and the
/// authorization token are never logged.
///
/// ```swift
/// let provider = ContainerCredentialProvider(endpoint: endpoint, refreshBefore: 900 + 60, logger: logger)
/// let credentials = try await provider.credentials()
/// ```
public actor ContainerCredentialProvider: CredentialProvider {
    /// Where the credentials come from.
    public nonisolated let endpoint: ContainerCredentialsEndpoint
    /// Credentials are fetched again when fewer than this many seconds remain.
    public nonisolated let refreshBefore: TimeInterval

    private nonisolated let fetcher: ContainerCredentialsFetcher
    private nonisolated let minimumRefreshInterval: TimeInterval
    private nonisolated let clock: @Sendable () -> Date
    private nonisolated let logger: Logger?
    private nonisolated let cache = Mutex<SigV4Credentials?>(nil)
    private var inFlight: Task<SigV4Credentials, any Error>?
    private var lastAttempt: Date?

    /// A client of its own, which never follows redirects: the token goes to the endpoint named and nowhere else.
    static let defaultHTTPClient = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)))
    )

    /// Creates a provider.
    /// - Parameters:
    ///   - endpoint: the URL and authorization source.
    ///   - httpClient: the client to fetch with; by default one that does not follow redirects.
    ///   - timeout: time allowed for one fetch, connection and body included.
    ///   - refreshBefore: fetch again when fewer than this many seconds remain (at least 5 minutes is
    ///     wise; more than the longest pre-signed URL's lifetime, so URLs are not cut short).
    ///   - minimumRefreshInterval: while cached credentials still work, fetch at most this often.
    ///   - clock: the time (injected in tests).
    ///   - logger: where refreshes and failures are logged; silent when `nil`.
    public init(endpoint: ContainerCredentialsEndpoint, httpClient: HTTPClient? = nil, timeout: Duration = .seconds(5),
                refreshBefore: TimeInterval = 300, minimumRefreshInterval: TimeInterval = 30,
                clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger? = nil) {
        self.endpoint = endpoint
        self.refreshBefore = max(0, refreshBefore)
        self.minimumRefreshInterval = max(0, minimumRefreshInterval)
        self.fetcher = ContainerCredentialsFetcher(endpoint: endpoint, httpClient: httpClient ?? Self.defaultHTTPClient,
                                                   timeout: timeout, logger: logger)
        self.clock = clock
        self.logger = logger
    }

    /// The cached credentials, or fresh ones when they are about to expire.
    /// - Throws: ``CredentialError`` "could not read container credentials from …" when none can be had.
    public nonisolated func credentials() async throws -> SigV4Credentials {
        let now = clock()
        if let cached = cache.withLock({ $0 }), !needsRefresh(cached, now: now) {
            return cached
        }
        return try await refresh(now: now)
    }

    nonisolated func needsRefresh(_ credentials: SigV4Credentials, now: Date) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return expiration.timeIntervalSince(now) < refreshBefore
    }

    private func refresh(now: Date) async throws -> SigV4Credentials {
        let cached = cache.withLock { $0 }
        if let cached, !needsRefresh(cached, now: now) { return cached }
        let usable = cached.flatMap { c in (c.expiration.map { $0 > now } ?? true) ? c : nil }
        let task: Task<SigV4Credentials, any Error>
        if let inFlight {
            task = inFlight
        } else {
            if let usable, let lastAttempt, now.timeIntervalSince(lastAttempt) < minimumRefreshInterval {
                return usable
            }
            lastAttempt = now
            let fetcher = self.fetcher
            // Unstructured, so that a cancelled caller does not cancel the fetch the others wait on.
            task = Task { try await fetcher.fetch() }
            inFlight = task
        }
        do {
            let fresh = try await task.value
            if inFlight == task {
                inFlight = nil
                cache.withLock { $0 = fresh }
                logFetched(fresh, now: now)
            }
            return fresh
        } catch {
            if inFlight == task { inFlight = nil }
            if let usable {
                logger?.warning("container credentials could not be refreshed; the cached ones are used until they expire",
                                metadata: ["credentials.endpoint": "\(endpoint.url)", "error": "\(error)",
                                           "credentials.expiration": "\(usable.expiration.map { AMZDate($0).iso8601String } ?? "none")"])
                return usable
            }
            throw error
        }
    }

    private func logFetched(_ credentials: SigV4Credentials, now: Date) {
        let expiration = credentials.expiration.map { AMZDate($0).iso8601String } ?? "none"
        logger?.info("container credentials fetched", metadata: ["credentials.accessKeyId": "\(credentials.accessKeyId)",
                                                                 "credentials.expiration": "\(expiration)"])
        if let left = credentials.expiration?.timeIntervalSince(now), left < refreshBefore {
            logger?.warning("container credentials expire sooner than the refresh window: pre-signed URLs will be cut short",
                            metadata: ["credentials.secondsLeft": "\(Int(left))", "credentials.refreshBefore": "\(Int(refreshBefore))"])
        }
    }
}

/// One fetch of container credentials: GET, within a time limit, then JSON.
struct ContainerCredentialsFetcher: Sendable {
    /// Larger answers are refused (ECS's is about 1.5 KiB).
    static let maximumBodySize = 64 * 1024

    let endpoint: ContainerCredentialsEndpoint
    let httpClient: HTTPClient
    let timeout: Duration
    let logger: Logger?

    /// Fetches and parses the credentials, within ``timeout``.
    /// - Throws: ``CredentialError`` "could not read container credentials from URL: reason".
    func fetch() async throws -> SigV4Credentials {
        try await withThrowingTaskGroup(of: SigV4Credentials?.self) { group in
            group.addTask { try await fetchOnce() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let credentials = first else {
                throw failure("no answer within \(timeout.seconds) s")
            }
            return credentials
        }
    }

    func failure(_ reason: String) -> CredentialError {
        CredentialError("could not read container credentials from \(endpoint.url): \(reason)")
    }

    private func fetchOnce() async throws -> SigV4Credentials {
        var request = HTTPClientRequest(url: endpoint.url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        if let token = try await authorizationToken() {
            request.headers.add(name: "Authorization", value: token)
        }
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await httpClient.execute(request, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)),
                                                    logger: logger)
            body = try await response.body.collect(upTo: Self.maximumBodySize)
        } catch let error as CredentialError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw failure("\(error)")
        }
        guard response.status == .ok else {
            throw failure("HTTP \(response.status.code)\(Self.errorDetail(body))")
        }
        return try parse(Data(body.readableBytesView))
    }

    /// The `Authorization` value: the fixed token, or the token file's contents (trimmed).
    func authorizationToken() async throws -> String? {
        switch endpoint.authorization {
        case .none:
            return nil
        case .token(let token):
            return token
        case .file(let path):
            let text: String
            do {
                let buffer = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { file in
                    try await file.readToEnd(maximumSizeAllowed: .kibibytes(16))
                }
                text = String(buffer: buffer).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw failure("the authorization token file \(path) cannot be read (\(error))")
            }
            guard !text.isEmpty, ContainerCredentialsEndpoint.isHeaderValue(text) else {
                throw failure("the authorization token file \(path) is empty or holds more than one line")
            }
            return text
        }
    }

    /// The wire format: `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}` (ISO 8601).
    struct Document: Decodable {
        var AccessKeyId: String?
        var SecretAccessKey: String?
        var Token: String?
        var Expiration: String?
    }

    /// Parses the answer; the body is never quoted in errors (it holds secrets).
    func parse(_ data: Data) throws -> SigV4Credentials {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: data)
        } catch {
            throw failure("the answer is not the JSON expected (\(data.count) bytes)")
        }
        guard let id = document.AccessKeyId, !id.isEmpty, let secret = document.SecretAccessKey, !secret.isEmpty else {
            throw failure("the answer lacks AccessKeyId or SecretAccessKey")
        }
        var expiration: Date?
        if let text = document.Expiration {
            guard let date = Self.parseISO8601(text) else {
                throw failure("Expiration '\(text.prefix(40))' is not an ISO 8601 time")
            }
            expiration = date
        }
        let token = document.Token.flatMap { $0.isEmpty ? nil : $0 }
        return SigV4Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }

    /// `2024-05-25T23:23:36Z`, with or without fractional seconds, `Z` or an offset.
    static func parseISO8601(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// A short, safe excerpt of an error answer: its `Message`/`message` when JSON, else its first line.
    static func errorDetail(_ body: ByteBuffer) -> String {
        let data = Data(body.readableBytesView)
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let message = (object["Message"] ?? object["message"]) as? String {
            return ": " + String(message.prefix(200))
        }
        let text = String(decoding: data.prefix(200), as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return line.isEmpty ? "" : ": " + line
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
