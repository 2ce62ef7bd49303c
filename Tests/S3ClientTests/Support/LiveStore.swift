import Foundation
import Hummingbird
import Logging
import NIOCore
import ObjectStore
import ObjectStoreEngine
import S3
import ServiceLifecycle
import SigV4

/// The embedded store served over HTTP on a free port of 127.0.0.1, with a
/// fresh data folder and one bucket, for as long as a test body runs.
enum LiveStore {
    static let credentials = SigV4Credentials(accessKeyId: "HOISTCLIENTTEST0", secretAccessKey: "client-test-secret-0123456789abcdefghij")
    /// Temporary credentials: the store wants their session token with every request.
    static let temporary = SigV4Credentials(accessKeyId: "ASIAHOISTCLIENT0", secretAccessKey: "temporary-secret-0123456789abcdefghijklm",
                                            sessionToken: "session-token/with+odd=chars")
    static let bucket = "client-tests"

    /// The running store: where it listens, and its engine, to check what the client did without the client.
    struct Handle: Sendable {
        var port: Int
        var engine: StorageEngine
        var endpoint: S3Endpoint { (try? S3Endpoint(url: "http://127.0.0.1:\(port)")) ?? S3Endpoint(scheme: "http", host: "127.0.0.1:\(port)", addressing: .path) }
    }

    /// Starts the store, runs `body` with a client for it, stops the store and removes its data.
    static func run<T: Sendable>(_ body: @Sendable (S3Client, Handle) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-s3client-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let engine = try StorageEngine(directory: directory)
        try await engine.createBucket(bucket)
        var logger = Logger(label: "hoist.test.store")
        logger.logLevel = .critical
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            responder: S3Responder(engine: engine, credentials: [credentials, temporary]),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "HoistTest"),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                await services.triggerGracefulShutdown()
                throw TestFailure("the store did not start")
            }
            do {
                let handle = Handle(port: port, engine: engine)
                let client = S3Client(endpoint: handle.endpoint, region: "us-east-1", credentials: credentials)
                let result = try await body(client, handle)
                await services.triggerGracefulShutdown()
                return result
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
