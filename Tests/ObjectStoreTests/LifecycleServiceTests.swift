import Foundation
import Logging
import ObjectStore
import ObjectStoreEngine
import ServiceLifecycle
import Testing

@Suite struct LifecycleServiceTests {
    @Test func abortsAbandonedUploadsInTheBackgroundAndStopsOnShutdown() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-lifecycle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try StorageEngine(directory: directory)
        try await engine.createBucket("bkt")
        let rules = LifecycleConfiguration(rules: [.init(prefix: "tmp/", abortIncompleteMultipartUploadDays: 1)])
        try await engine.setBucketConfiguration("bkt", name: LifecycleConfiguration.configurationName, value: try JSONEncoder().encode(rules))
        let abandoned = try await engine.createMultipartUpload(bucket: "bkt", key: "tmp/a", metadata: ObjectMetadata())
        let kept = try await engine.createMultipartUpload(bucket: "bkt", key: "keep/a", metadata: ObjectMetadata())
        let sink = try await engine.beginUpload(bucket: "bkt")
        try await sink.write([1, 2, 3])
        _ = try await engine.commitPart(sink, bucket: "bkt", key: "tmp/a", uploadId: abandoned.uploadId, partNumber: 1)

        // The service's clock is two days ahead; it runs a pass at start and then every 50 ms.
        let service = LifecycleService(engine: engine, interval: .milliseconds(50), clock: { Date() + 2 * 86_400 },
                                       logger: Logger(label: "test"))
        let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var remaining: [String] = []
            for _ in 0..<100 {
                remaining = try await engine.listMultipartUploads(bucket: "bkt").uploads.map(\.uploadId)
                if remaining == [kept.uploadId] { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(remaining == [kept.uploadId])
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
