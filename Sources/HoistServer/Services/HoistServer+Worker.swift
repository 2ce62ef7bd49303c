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

extension HoistServer {
    /// Runs only the image worker (`hoist worker`): events from an SQS queue, objects in
    /// AWS S3 or any S3-compatible endpoint, records in the data folder's database or in PostgreSQL
    /// (``HoistConfiguration/postgres``).
    public static func worker(configuration: HoistConfiguration, queueURL: String, logger: Logger,
                              onStarted: @escaping @Sendable (String) async -> Void) async throws {
        let credentials = try CredentialChain().resolve(profile: configuration.awsProfile)
        let endpoint = try storageEndpoint(configuration)
        let client = S3Client(endpoint: endpoint, region: configuration.region, credentials: credentials)
        let queue = try SQSQueue(queueURL: queueURL, region: configuration.region, credentials: credentials)
        try await withRecords(configuration, logger: logger) { records, _ in
            let registry = PrometheusCollectorRegistry()
            let metrics = WorkerMetrics(factory: PrometheusMetricsFactory(registry: registry))
            let worker = ImageWorker(queue: queue, objects: S3ObjectAccess(client: client, bucket: configuration.bucket), records: records,
                                     thumbnailer: Thumbnailer.find(), configuration: configuration.worker.imageWorker, metrics: metrics,
                                     logger: logger)
            let housekeeping = Housekeeping(queue: queue, records: records, metrics: metrics, logger: logger,
                                            grace: TimeInterval(configuration.worker.pendingGrace), interval: .seconds(30))
            var services: [any Service] = [BackgroundTask(name: "image worker") { await worker.run() },
                                           BackgroundTask(name: "housekeeping") { await housekeeping.run() }]
            var started = "hoist worker: events from \(queueURL), objects in bucket \(configuration.bucket) at \(endpoint.scheme)://\(endpoint.host)"
            if let port = configuration.worker.metricsPort {
                // The worker's own /metrics and /healthz (in `hoist serve` they are on the API's port).
                let router = Router()
                addHealthAndMetrics(to: router, registry: registry)
                services.append(Application(router: router, configuration: .init(address: .hostname(configuration.apiHost, port: port),
                                                                                  serverName: "Hoist worker"), logger: logger))
                started += "; metrics on http://\(configuration.apiHost):\(port)/metrics"
            }
            await onStarted(started)
            let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}
