import AsyncHTTPClient
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ObjectStore
import Prometheus
import S3
import ServiceLifecycle
import SigV4
import Uploads

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
        let storeConfiguration = S3ServerConfiguration(host: configuration.storeHost, port: configuration.storePort,
                                                       dataDirectory: configuration.dataDirectory, region: configuration.region)
        let (storeCredentials, _) = try StoreCredentials.load(directory: configuration.dataDirectory)
        let engine = try S3Server.openEngine(configuration: storeConfiguration)
        try S3Server.prepareBucket(configuration.bucket, engine: engine, corsOrigins: configuration.effectiveCORSOrigins)
        let store = S3Server.application(engine: engine, configuration: storeConfiguration, credentials: [storeCredentials],
                                         logger: logger)
        let endpoint = try S3Endpoint(url: configuration.storeURL, addressing: .path)
        let target = StorageTarget(endpoint: endpoint, bucket: configuration.bucket, region: configuration.region,
                                   credentials: storeCredentials)
        let (api, devIssuer) = try makeAPI(configuration: configuration, target: target, logger: logger) {
            devIssuer in
            let token = try? await devIssuer?.token(for: "dev", ttl: .seconds(3600))
            await onStarted(Started(apiURL: configuration.apiBaseURL, storeURL: configuration.storeURL, bucket: configuration.bucket,
                                    devToken: token, storeCredentials: storeCredentials))
        }
        _ = devIssuer
        let group = ServiceGroup(services: [store, api], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    /// Runs only the API, against any S3 (`hoist api`).
    public static func api(configuration: HoistConfiguration, logger: Logger,
                           onStarted: @escaping @Sendable (Started) async -> Void) async throws {
        let credentials = try CredentialChain().resolve(profile: configuration.awsProfile)
        let endpoint: S3Endpoint
        if let url = configuration.s3Endpoint {
            endpoint = try S3Endpoint(url: url, addressing: configuration.addressing ?? .path)
        } else {
            var aws = S3Endpoint.aws(region: configuration.region)
            if let addressing = configuration.addressing { aws.addressing = addressing }
            endpoint = aws
        }
        let target = StorageTarget(endpoint: endpoint, bucket: configuration.bucket, region: configuration.region, credentials: credentials)
        let (api, _) = try makeAPI(configuration: configuration, target: target, logger: logger) { devIssuer in
            let token = try? await devIssuer?.token(for: "dev", ttl: .seconds(3600))
            await onStarted(Started(apiURL: configuration.apiBaseURL, storeURL: nil, bucket: configuration.bucket,
                                    devToken: token, storeCredentials: nil))
        }
        let group = ServiceGroup(services: [api], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    /// The API application: upload routes, health, metrics, the dev issuer's documents.
    static func makeAPI(configuration: HoistConfiguration, target: StorageTarget, logger: Logger,
                        onRunning: @escaping @Sendable (DevIssuer?) async -> Void) throws -> (any Service, DevIssuer?) {
        let registry = PrometheusCollectorRegistry()
        let records = try SQLiteUploadRecordStore(path: configuration.dataDirectory.appendingPathComponent("uploads.sqlite").path)
        let service = UploadService(policy: configuration.policy, target: target, records: records,
                                    metricsFactory: PrometheusMetricsFactory(registry: registry))
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
        let router = Router()
        router.add(middleware: APICORSMiddleware(origins: configuration.effectiveCORSOrigins))
        router.add(middleware: JSONErrorMiddleware())
        UploadsAPI(service: service, verifier: verifier).addRoutes(to: router)
        WebUI.addRoutes(to: router)
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}")))
        }
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
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
                return try JSONResponse.make(["token": token, "user": user])
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

enum JSONResponse {
    static func make(_ object: [String: String]) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
