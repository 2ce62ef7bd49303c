import AsyncHTTPClient
import Auth
import Events
import Foundation
import HTTPTypes
import Hummingbird
import ImageWorker
import Logging
import ObjectStore
import ObjectStoreEngine
import Prometheus
import S3
import ServiceLifecycle
import SigV4
import Uploads
import UploadsAPI
import UploadsPostgres

/// Wiring: the upload API (and, for `hoist serve`, the embedded store) as
/// services of one process, with metrics, health and the dev issuer's endpoints.
public enum HoistServer {
    /// What `hoist serve` prints once both servers are up.
    public struct Started: Sendable {
        public var apiURL: String
        public var storeURL: String?
        public var bucket: String
        public var devToken: String?
        public var storeCredentials: SigV4Credentials?
    }

    /// Runs the API and the embedded store in one process until SIGINT/SIGTERM.
    public static func serve(configuration: HoistConfiguration, logger: Logger,
                             onStarted: @escaping @Sendable (Started) async -> Void) async throws {
        let configuration = await withDecodableTypes(configuration, logger: logger)
        let storeConfiguration = S3ServerConfiguration(host: configuration.storeHost, port: configuration.storePort,
                                                       dataDirectory: configuration.dataDirectory, region: configuration.region,
                                                       accessLogInterval: .seconds(configuration.storeAccessLogInterval))
        let (storeCredentials, _) = try StoreCredentials.load(directory: configuration.dataDirectory)
        let engine = try S3Server.openEngine(configuration: storeConfiguration)
        try await S3Server.prepareBucket(configuration.bucket, engine: engine, corsOrigins: configuration.effectiveCORSOrigins)
        let store = S3Server.application(engine: engine, configuration: storeConfiguration, credentials: [storeCredentials],
                                         logger: logger)
        try await prepareNotifications(configuration, engine: engine)
        let endpoint = try S3Endpoint(url: configuration.storeURL, addressing: .path)
        let target = StorageTarget(endpoint: endpoint, bucket: configuration.bucket, region: configuration.region,
                                   credentials: storeCredentials)
        let registry = PrometheusCollectorRegistry()
        try await withRecords(configuration, logger: logger) { records, limiter in
            let (api, devIssuer) = try makeAPI(configuration: configuration, target: target, records: records, limiter: limiter,
                                               registry: registry, logger: logger) { devIssuer in
                let token = try? await devIssuer?.token(for: "dev", ttl: .seconds(3600))
                await onStarted(Started(apiURL: configuration.apiBaseURL, storeURL: configuration.storeURL, bucket: configuration.bucket,
                                        devToken: token, storeCredentials: storeCredentials))
            }
            _ = devIssuer
            var services: [any Service] = [store, api]
            if configuration.worker.enabled {
                let queue = engine.outbox(queue: HoistConfiguration.eventQueueName, maxReceiveCount: configuration.worker.maxReceiveCount)
                let metrics = WorkerMetrics(factory: PrometheusMetricsFactory(registry: registry))
                var workerLogger = logger
                workerLogger[metadataKey: "component"] = "worker"
                let objects = EngineObjectAccess(engine: engine, bucket: configuration.bucket)
                let worker = ImageWorker(queue: queue, objects: objects,
                                         records: records, thumbnailer: Thumbnailer.find(), configuration: configuration.worker.imageWorker,
                                         metrics: metrics, logger: workerLogger)
                let housekeeping = Housekeeping(queue: queue, records: records, objects: objects, metrics: metrics, logger: workerLogger,
                                                grace: TimeInterval(configuration.worker.pendingGrace))
                services.append(BackgroundTask(name: "image worker") { await worker.run() })
                services.append(BackgroundTask(name: "housekeeping") { await housekeeping.run() })
            }
            if let emf = configuration.emfReporter(registry: registry, service: "serve") { services.append(emf) }
            let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }

    /// Points the bucket's event notifications for `articles/` at the worker's queue
    /// (keeping any other rules); the embedded store then writes them to its outbox.
    /// The configuration without HEIC/HEIF in its policy when libvips here cannot decode them (no `vips`, or no libheif
    /// with an HEVC decoder): the API refuses what the worker could not process, and says so now.
    static func withDecodableTypes(_ configuration: HoistConfiguration, logger: Logger,
                                   thumbnailer: Thumbnailer? = Thumbnailer.find()) async -> HoistConfiguration {
        let wanted = configuration.policy.allowedTypes.keys.filter(UploadPolicy.heifTypes.contains)
        guard !wanted.isEmpty else { return configuration }
        if let thumbnailer, await thumbnailer.decodesHEIF() { return configuration }
        var configuration = configuration
        for type in wanted { configuration.policy.allowedTypes[type] = nil }
        logger.warning("HEIC/HEIF uploads are refused: libvips here cannot decode them (install libvips-tools with libheif and an HEVC decoder)",
                       metadata: ["types": "\(wanted.sorted().joined(separator: ", "))"])
        return configuration
    }

    static func prepareNotifications(_ configuration: HoistConfiguration, engine: StorageEngine) async throws {
        let rule = NotificationConfiguration.QueueRule(
            id: "hoist-worker", queueARN: "arn:aws:sqs:\(configuration.region):000000000000:\(HoistConfiguration.eventQueueName)",
            events: ["s3:ObjectCreated:*"], prefix: "articles/")
        let existing = try await engine.notificationConfiguration(configuration.bucket)
        guard existing?.queues.contains(rule) != true else { return }
        var queues = existing?.queues.filter { $0.id != rule.id } ?? []
        queues.append(rule)
        try await engine.setNotificationConfiguration(configuration.bucket, NotificationConfiguration(queues: queues))
    }

    /// `GET /healthz` and `GET /metrics` (Prometheus text of `registry`): the API's, and `hoist worker`'s own.
    static func addHealthAndMetrics<Context: RequestContext>(to router: Router<Context>, registry: PrometheusCollectorRegistry) {
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
    }

    /// The S3 endpoint of `hoist api` and `hoist worker`: the configured one, or AWS S3 in the region.
    static func storageEndpoint(_ configuration: HoistConfiguration) throws -> S3Endpoint {
        if let url = configuration.s3Endpoint {
            return try S3Endpoint(url: url, addressing: configuration.addressing ?? .path)
        }
        var aws = S3Endpoint.aws(region: configuration.region)
        if let addressing = configuration.addressing { aws.addressing = addressing }
        return aws
    }

    static func openRecords(_ configuration: HoistConfiguration) throws -> SQLiteUploadRecordStore {
        try SQLiteUploadRecordStore(path: configuration.dataDirectory.appendingPathComponent("uploads.sqlite").path)
    }

    /// Runs `body` with the upload records and the rate limiter: SQLite in the data folder and the
    /// in-process limiter (`nil`: the API's default), or, with ``HoistConfiguration/postgres``,
    /// PostgreSQL for both. Then the pool runs for as long as `body` does, and the schema is
    /// migrated first (under an advisory lock: replicas may start at once).
    /// - Throws: ``PostgresStoreError`` `schema_too_new` when a newer Hoist migrated the database.
    static func withRecords(_ configuration: HoistConfiguration, logger: Logger,
                            _ body: (any UploadRecordStore, (any UploadRateLimiter)?) async throws -> Void) async throws {
        guard let postgres = configuration.postgres else {
            try await body(try openRecords(configuration), nil)
            return
        }
        let database = PostgresUploadsDatabase(configuration: postgres, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            do {
                let applied = try await database.migrate()
                logger.info("records in PostgreSQL", metadata: ["db.url": "\(postgres.redactedURL)",
                                                                "db.schema.version": "\(PostgresUploadsDatabase.latestSchemaVersion)",
                                                                "db.schema.migrated": "\(applied)",
                                                                "db.pool.size": "\(postgres.maximumConnections)"])
                let limiter = PostgresRateLimiter(database: database, ratePerMinute: configuration.policy.ratePerMinute,
                                                  burst: configuration.policy.burst)
                try await body(PostgresUploadRecordStore(database: database), limiter)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// Runs only the API, against any S3 (`hoist api`).
    public static func api(configuration: HoistConfiguration, logger: Logger,
                           onStarted: @escaping @Sendable (Started) async -> Void) async throws {
        let configuration = await withDecodableTypes(configuration, logger: logger)
        // URLs are signed with the credentials of the moment: temporary ones are fetched again while
        // they still outlive the longest URL, so URLs are not cut short.
        let longestURL = TimeInterval(max(configuration.policy.uploadURLExpiry, configuration.policy.downloadURLExpiry))
        let credentials = try configuration.credentialChain.provider(profile: configuration.awsProfile,
                                                                     refreshBefore: max(300, longestURL + 60), logger: logger)
        await checkCredentials(credentials, logger: logger)
        let endpoint = try storageEndpoint(configuration)
        let target = StorageTarget(endpoint: endpoint, bucket: configuration.bucket, region: configuration.region, credentials: credentials)
        try await withRecords(configuration, logger: logger) { records, limiter in
            var receiver: EventReceiver?
            if let token = configuration.eventsToken, let database = (records as? PostgresUploadRecordStore)?.database {
                // Storage event pushes (Ceph RGW topics) into the queue `hoist worker --queue postgres` reads.
                receiver = EventReceiver(queue: PostgresEventQueue(database: database, name: HoistConfiguration.eventQueueName,
                                                                   maxReceiveCount: configuration.worker.maxReceiveCount),
                                         token: token, logger: logger)
            }
            let registry = PrometheusCollectorRegistry()
            let (api, _) = try makeAPI(configuration: configuration, target: target, records: records, limiter: limiter,
                                       registry: registry, eventReceiver: receiver, logger: logger) { devIssuer in
                let token = try? await devIssuer?.token(for: "dev", ttl: .seconds(3600))
                await onStarted(Started(apiURL: configuration.apiBaseURL, storeURL: nil, bucket: configuration.bucket,
                                        devToken: token, storeCredentials: nil))
            }
            var services: [any Service] = [api]
            if let emf = configuration.emfReporter(registry: registry, service: "api") { services.append(emf) }
            let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }

    /// Fetches the credentials once at start, so a misconfigured container endpoint shows in the
    /// log at once; the process keeps running (the endpoint may come up later).
    static func checkCredentials(_ credentials: any CredentialProvider, logger: Logger) async {
        do {
            let current = try await credentials.credentials()
            logger.info("signing credentials", metadata: [
                "credentials.source": "\(credentials is StaticCredentialProvider ? "environment or profile" : "container endpoint")",
                "credentials.accessKeyId": "\(current.accessKeyId)",
                "credentials.expiration": "\(current.expiration.map { AMZDate($0).iso8601String } ?? "none")"])
        } catch {
            logger.error("no signing credentials yet", metadata: ["error": "\(error)"])
        }
    }

    /// The API application: upload routes, health, metrics, the dev issuer's documents.
    static func makeAPI(configuration: HoistConfiguration, target: StorageTarget, records: any UploadRecordStore,
                        limiter: (any UploadRateLimiter)? = nil, registry: PrometheusCollectorRegistry,
                        eventReceiver: EventReceiver? = nil, logger: Logger,
                        onRunning: @escaping @Sendable (DevIssuer?) async -> Void) throws -> (any Service, DevIssuer?) {
        let service = UploadService(policy: configuration.policy, target: target, records: records, limiter: limiter,
                                    metricsFactory: PrometheusMetricsFactory(registry: registry), logger: logger)
        let devIssuer: DevIssuer?
        let verifier: any TokenVerifier
        if let external = configuration.externalVerifierConfiguration {
            devIssuer = nil
            verifier = JWKSTokenVerifier(configuration: external, logger: logger)
        } else {
            let issuer = try DevIssuer.loadOrCreate(directory: configuration.dataDirectory, issuer: configuration.apiBaseURL)
            devIssuer = issuer
            verifier = JWKSTokenVerifier(configuration: issuer.verifierConfiguration, logger: logger)
        }
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: APICORSMiddleware(origins: configuration.effectiveCORSOrigins))
        router.add(middleware: JSONErrorMiddleware())
        UploadsAPI(service: service, verifier: verifier).addRoutes(to: router)
        WebUI.addRoutes(to: router)
        eventReceiver?.addRoutes(to: router)
        addHealthAndMetrics(to: router, registry: registry)
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: WebAssets.openAPIYAML)))
        }
        if let devIssuer {
            let jwks = devIssuer.jwksDocument(), discovery = devIssuer.openIDConfiguration()
            router.get(".well-known/jwks.json") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: jwks)))
            }
            router.get(".well-known/openid-configuration") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: discovery)))
            }
            router.post("dev/token") { request, _ in
                // Dev issuer only: a token for a name, for the web page's sign-in button and `hoist token`.
                let user = request.uri.queryParameters.get("user") ?? "dev"
                guard !user.isEmpty, user.count <= 128, user.allSatisfy({ $0.isLetter || $0.isNumber || "-_.@".contains($0) }) else {
                    throw APIError.badRequest("user must be 1–128 letters, digits, '-', '_', '.' or '@'.")
                }
                let token = try await devIssuer.token(for: user, ttl: .seconds(3600))
                return try APIJSON.response(["token": token, "user": user])
            }
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.apiHost, port: configuration.apiPort), serverName: "Hoist"),
            onServerRunning: { _ in await onRunning(devIssuer) },
            logger: logger
        )
        return (app, devIssuer)
    }
}

/// A loop run as a service of the group: cancelled at graceful shutdown.
struct BackgroundTask: Service {
    let name: String
    let body: @Sendable () async -> Void

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            await body()
        }
    }
}
