import Events
import Foundation
import ImageWorker
import Logging
import S3
import ServiceLifecycle
import SigV4

extension HoistServer {
    /// Runs only the image worker (`hoist worker`): events from an SQS queue, objects in
    /// AWS S3 or any S3-compatible endpoint, records in the data folder's database.
    public static func worker(configuration: HoistConfiguration, queueURL: String, logger: Logger,
                              onStarted: @escaping @Sendable (String) async -> Void) async throws {
        let credentials = try CredentialChain().resolve(profile: configuration.awsProfile)
        let endpoint = try storageEndpoint(configuration)
        let client = S3Client(endpoint: endpoint, region: configuration.region, credentials: credentials)
        let queue = try SQSQueue(queueURL: queueURL, region: configuration.region, credentials: credentials)
        let records = try openRecords(configuration)
        let metrics = WorkerMetrics()
        let worker = ImageWorker(queue: queue, objects: S3ObjectAccess(client: client, bucket: configuration.bucket), records: records,
                                 thumbnailer: Thumbnailer.find(), configuration: configuration.worker.imageWorker, metrics: metrics,
                                 logger: logger)
        let housekeeping = Housekeeping(queue: queue, records: records, metrics: metrics, logger: logger,
                                        grace: TimeInterval(configuration.worker.pendingGrace), interval: .seconds(30))
        await onStarted("hoist worker: events from \(queueURL), objects in bucket \(configuration.bucket) at \(endpoint.scheme)://\(endpoint.host)")
        let group = ServiceGroup(services: [BackgroundTask(name: "image worker") { await worker.run() },
                                            BackgroundTask(name: "housekeeping") { await housekeeping.run() }],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}
