import Events
import Foundation
import Hummingbird
import ImageWorker
import Logging
import Prometheus
import S3
import ServiceLifecycle
import SigV4
import SQS
import UploadsPostgres

extension HoistServer {
    /// Runs only the image worker (`hoist worker`): events from an SQS queue, objects in
    /// AWS S3 or any S3-compatible endpoint, records in the data folder's database or in PostgreSQL
    /// (``HoistConfiguration/postgres``).
    /// - Parameter queueURL: the SQS queue; `nil` takes the events from the PostgreSQL queue
    ///   `hoist-events` in ``HoistConfiguration/postgres`` instead (`hoist worker --queue postgres`).
    public static func worker(configuration: HoistConfiguration, queueURL: String?, logger: Logger,
                              onStarted: @escaping @Sendable (String) async -> Void) async throws {
        // One provider for S3 and SQS: temporary credentials are fetched once and refreshed for both.
        let credentials = try configuration.credentialChain.provider(profile: configuration.awsProfile, logger: logger)
        await checkCredentials(credentials, logger: logger)
        let endpoint = try storageEndpoint(configuration)
        let client = S3Client(endpoint: endpoint, region: configuration.region, credentials: credentials)
        let sqs = try queueURL.map { try SQSQueue(queueURL: $0, region: configuration.region, credentials: credentials) }
        try await withRecords(configuration, logger: logger) { records, _ in
            let queue: any EventQueue
            if let sqs {
                queue = sqs
            } else if let database = (records as? PostgresUploadRecordStore)?.database {
                queue = PostgresEventQueue(database: database, name: HoistConfiguration.eventQueueName,
                                           maxReceiveCount: configuration.worker.maxReceiveCount)
            } else {
                throw ConfigurationError("The PostgreSQL queue needs the records in PostgreSQL: set HOIST_DATABASE_URL or --database.")
            }
            let registry = PrometheusCollectorRegistry()
            let metrics = WorkerMetrics(factory: PrometheusMetricsFactory(registry: registry))
            let objects = S3ObjectAccess(client: client, bucket: configuration.bucket)
            let worker = ImageWorker(queue: queue, objects: objects, records: records,
                                     thumbnailer: Thumbnailer.find(), configuration: configuration.worker.imageWorker, metrics: metrics,
                                     logger: logger)
            let housekeeping = Housekeeping(queue: queue, records: records, objects: objects, metrics: metrics, logger: logger,
                                            grace: TimeInterval(configuration.worker.pendingGrace), interval: .seconds(30))
            var services: [any Service] = [BackgroundTask(name: "image worker") { await worker.run() },
                                           BackgroundTask(name: "housekeeping") { await housekeeping.run() }]
            var started = "hoist worker: events from \(queueURL ?? "the PostgreSQL queue \(HoistConfiguration.eventQueueName)"), objects in bucket \(configuration.bucket) at \(endpoint.scheme)://\(endpoint.host)"
            if let port = configuration.worker.metricsPort {
                // The worker's own /metrics and /healthz (in `hoist serve` they are on the API's port).
                let router = Router()
                addHealthAndMetrics(to: router, registry: registry)
                services.append(Application(router: router, configuration: .init(address: .hostname(configuration.apiHost, port: port),
                                                                                  serverName: "Hoist worker"), logger: logger))
                started += "; metrics on http://\(configuration.apiHost):\(port)/metrics"
            }
            if let emf = configuration.emfReporter(registry: registry, service: "worker") { services.append(emf) }
            await onStarted(started)
            let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}
