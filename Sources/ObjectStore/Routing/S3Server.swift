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
    /// How often the background task applies bucket lifecycle rules.
    public var lifecycleInterval: Duration
    /// How often server access logs are delivered to their target buckets
    /// (`HOIST_ACCESS_LOG_INTERVAL` seconds; see ``accessLogIntervalVariable``).
    public var accessLogInterval: Duration

    /// The environment variable of ``accessLogInterval``, in whole seconds (1 to 86400; default 60).
    public static let accessLogIntervalVariable = "HOIST_ACCESS_LOG_INTERVAL"
    /// The range ``accessLogIntervalVariable`` accepts, in seconds.
    public static let accessLogIntervalRange = 1...86_400

    /// Creates a configuration; the defaults are `hoist store`'s.
    public init(host: String = "127.0.0.1", port: Int = 9000, dataDirectory: URL = URL(fileURLWithPath: "hoist-data"),
                region: String = "us-east-1", lifecycleInterval: Duration = .seconds(3600), accessLogInterval: Duration = .seconds(60)) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.region = region
        self.lifecycleInterval = lifecycleInterval
        self.accessLogInterval = accessLogInterval
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
        let engine = try openEngine(configuration: configuration)
        return application(engine: engine, configuration: configuration, credentials: credentials, logger: logger,
                           onServerRunning: onServerRunning)
    }

    /// Opens the storage engine under `dataDirectory/store`, first raising the process's
    /// open-file limit (a GET holds one descriptor per segment of a multipart object).
    public static func openEngine(configuration: S3ServerConfiguration) throws -> StorageEngine {
        StorageEngine.raiseOpenFileLimit()
        return try StorageEngine(directory: configuration.dataDirectory.appendingPathComponent("store"), region: configuration.region)
    }

    /// Builds the application over an engine the caller opened.
    public static func application(engine: StorageEngine, configuration: S3ServerConfiguration, credentials: [SigV4Credentials],
                                   logger: Logger, onServerRunning: @escaping @Sendable () async -> Void = {}) -> some ApplicationProtocol {
        let accessLog = AccessLogService(engine: engine, configuration: .init(interval: configuration.accessLogInterval), logger: logger)
        let responder = S3Responder(engine: engine, credentials: credentials, region: configuration.region, accessLog: accessLog)
        var application = Application(
            responder: responder,
            server: .http1(additionalChannelHandlers: [ExpectContinueHandler()]),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Hoist"),
            onServerRunning: { _ in await onServerRunning() },
            logger: logger
        )
        // The lifecycle rules' background task runs and stops with the server.
        application.addServices(LifecycleService(engine: engine, interval: configuration.lifecycleInterval, logger: logger))
        // Access logs are delivered in batches; the server stops first, so the last batch holds every request.
        application.addServices(accessLog)
        return application
    }
}

extension S3Server {
    /// Creates `bucket` if it does not exist, turns its default encryption at rest on (SSE-S3), and sets its CORS rules so pages on
    /// `origins` can PUT, POST (forms), GET and HEAD directly (what `hoist serve` does on start).
    /// Setup of the embedded store, in-process; URLs are still signed and checked over HTTP.
    /// The rule allows exactly the headers a browser sends on a pre-signed PUT (Content-Length it
    /// sets itself) and exposes `ETag` and `x-amz-version-id`; origins are listed, never `*`
    /// (`HoistConfiguration` refuses it).
    public static func prepareBucket(_ bucket: String, engine: StorageEngine, corsOrigins: [String]) async throws {
        do {
            try await engine.createBucket(bucket)
        } catch where error.code == .bucketAlreadyOwnedByYou {
            // Already there from an earlier start.
        }
        let rule = CORSConfiguration.Rule(
            id: "hoist-serve", allowedOrigins: corsOrigins, allowedMethods: ["PUT", "GET", "HEAD"],
            allowedHeaders: ["content-type", "content-length", "if-none-match", "x-amz-checksum-sha256"],
            exposeHeaders: ["ETag", "x-amz-version-id"], maxAgeSeconds: 3600)
        try await engine.setBucketConfiguration(bucket, name: "cors", value: try JSONEncoder().encode(CORSConfiguration(rules: [rule])))
        // Encryption at rest by default (SSE-S3): uploads and derived images are encrypted on disk.
        try await engine.setDefaultEncryption(bucket, true)
    }
}
