import Foundation
import Hummingbird
import Logging
import ObjectStoreEngine
import SigV4

/// Settings of the embedded S3-compatible store.
public struct S3ServerConfiguration: Sendable {
    /// The address to listen on (loopback by default).
    public var host: String
    /// The port to listen on.
    public var port: Int
    /// Where the index, blobs and credentials live.
    public var dataDirectory: URL
    /// The region signatures must be scoped to.
    public var region: String

    /// Creates a configuration; the defaults are `hoist store`'s.
    public init(host: String = "127.0.0.1", port: Int = 9000, dataDirectory: URL = URL(fileURLWithPath: "hoist-data"),
                region: String = "us-east-1") {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.region = region
    }
}

/// The embedded store as a Hummingbird application.
public enum S3Server {
    /// Builds the application: opens the engine under `dataDirectory/store`
    /// and serves the S3 API with `credentials`.
    ///
    /// ```swift
    /// let app = try S3Server.application(configuration: .init(port: 9000), credentials: [credentials])
    /// try await app.runService()
    /// ```
    public static func application(configuration: S3ServerConfiguration, credentials: [SigV4Credentials], logger: Logger,
                                   onServerRunning: @escaping @Sendable () async -> Void = {}) throws -> some ApplicationProtocol {
        let engine = try StorageEngine(directory: configuration.dataDirectory.appendingPathComponent("store"))
        let responder = S3Responder(engine: engine, credentials: credentials, region: configuration.region)
        return Application(
            responder: responder,
            server: .http1(additionalChannelHandlers: [ExpectContinueHandler()]),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Hoist"),
            onServerRunning: { _ in await onServerRunning() },
            logger: logger
        )
    }
}
