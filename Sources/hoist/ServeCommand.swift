import ArgumentParser
import Auth
import Foundation
import HoistServer
import Logging
import UploadsPostgres

/// Options shared by `hoist serve`, `hoist api` and `hoist token`.
struct ServerOptions: ParsableArguments {
    @Option(help: "The data folder (store, records, dev-issuer key). Default: HOIST_DATA, else ./hoist-data.")
    var data: String?

    @Option(help: "The API's port. Default: HOIST_API_PORT, else 8080.")
    var port: Int?

    /// The configuration: environment first, then these options.
    func configuration() throws -> HoistConfiguration {
        var configuration: HoistConfiguration
        do {
            configuration = try HoistConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        if let data { configuration.dataDirectory = URL(fileURLWithPath: data) }
        if let port {
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
            configuration.apiPort = port
        }
        return configuration
    }
}

/// `--database`, for `hoist api` and `hoist worker`: upload records (and the rate limit) in PostgreSQL.
struct DatabaseOption: ParsableArguments {
    @Option(help: ArgumentHelp("Upload records and the shared rate limit in PostgreSQL, postgres://user:password@host:5432/db. Default: HOIST_DATABASE_URL, else SQLite in the data folder.",
                               valueName: "url"))
    var database: String?

    /// Puts the URL into `configuration`, keeping pool size and timeouts from the environment.
    func apply(to configuration: inout HoistConfiguration) throws {
        guard let database else { return }
        do {
            var postgres = try PostgresConfiguration(url: database)
            if let configured = configuration.postgres {
                postgres.maximumConnections = configured.maximumConnections
                postgres.connectTimeout = configured.connectTimeout
                postgres.queryTimeout = configured.queryTimeout
            }
            configuration.postgres = postgres
        } catch {
            throw ValidationError("--database: \(error.message)")
        }
    }
}

func makeLogger(_ label: String) -> Logger {
    var logger = Logger(label: label, factory: { LineLogHandler(label: $0) })
    logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
    return logger
}

/// `hoist serve`: the whole flow on one machine.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the upload API (127.0.0.1:8080) and the embedded S3-compatible store (127.0.0.1:9000) in one process.",
        discussion: """
            Zero configuration: on first start it creates the data folder, the store's access key, the dev \
            issuer's RS256 key, the bucket (article-images) and its CORS rules, then prints the URLs, a dev token \
            and a curl example of the whole flow. Settings come from HOIST_* variables (see README.md). \
            SIGINT or SIGTERM stops it after in-flight requests finish.
            """
    )

    @OptionGroup var options: ServerOptions

    @Option(help: "The embedded store's port. Default: HOIST_STORE_PORT, else 9000.")
    var storePort: Int?

    func run() async throws {
        var configuration = try options.configuration()
        if let storePort { configuration.storePort = storePort }
        let logger = makeLogger("hoist.serve")
        let bucket = configuration.bucket, dataPath = configuration.dataDirectory.path
        try await HoistServer.serve(configuration: configuration, logger: logger) { started in
            say("hoist serve: API on \(started.apiURL), S3-compatible store on \(started.storeURL ?? "?"), bucket \(bucket)")
            if let credentials = started.storeCredentials {
                say("store access key \(credentials.accessKeyId) (secret in \(dataPath)/credentials.json)")
            }
            if let token = started.devToken {
                say("")
                say("A dev token for user 'dev' (1 hour; more with `hoist token NAME`):")
                say("  export TOKEN=\(token)")
                say("")
                say("The whole flow:")
                say("  echo iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR42mP4H8DAUPGfAUIBACZqBY1TgIRZAAAAAElFTkSuQmCC | base64 -d > /tmp/a.png")
                say("  curl -s -X POST \(started.apiURL)/upload-url -H \"Authorization: Bearer $TOKEN\" \\")
                say("       -H 'Content-Type: application/json' -d '{\"contentType\":\"image/png\",\"size\":75}' | tee /tmp/upload.json")
                say("  curl -s -X PUT -H 'Content-Type: image/png' -H 'If-None-Match: *' --data-binary @/tmp/a.png \\")
                say("       \"$(python3 -c 'import json;print(json.load(open(\"/tmp/upload.json\"))[\"uploadUrl\"])')\" -w '%{http_code}\\n'")
            }
        }
    }
}

/// `hoist api`: only the API, against any S3.
struct APICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Run only the upload API, signing URLs for AWS S3 or any S3-compatible endpoint.",
        discussion: """
            Storage: HOIST_S3_ENDPOINT (default AWS S3 in HOIST_REGION), HOIST_BUCKET, HOIST_S3_ADDRESSING. \
            Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, HOIST_AWS_PROFILE, or the \
            container credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI: an ECS task role), \
            refreshed before they expire. `hoist iam-policy api` prints the role's least-privilege policy. \
            Identity: HOIST_AUTH=dev|oidc|cognito (see README.md). Records: SQLite in the data folder, or \
            PostgreSQL with --database or HOIST_DATABASE_URL (then the rate limit is shared by every replica).
            """
    )

    @OptionGroup var options: ServerOptions

    @OptionGroup var database: DatabaseOption

    func run() async throws {
        var settings = try options.configuration()
        try database.apply(to: &settings)
        let configuration = settings
        let logger = makeLogger("hoist.api")
        try await HoistServer.api(configuration: configuration, logger: logger) { started in
            say("hoist api on \(started.apiURL), signing for bucket \(configuration.bucket) at \(configuration.s3Endpoint ?? "AWS S3 (\(configuration.region))")")
            if let token = started.devToken { say("dev token for 'dev': \(token)") }
        }
    }
}

/// `hoist token`: a dev-issuer token.
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a token of the built-in dev issuer for a user (for `hoist serve` with HOIST_AUTH=dev).",
        discussion: "The key is the one `hoist serve` uses: in the data folder, made on first use."
    )

    @Argument(help: "The user (the token's subject).")
    var user: String

    @Option(help: "Lifetime in seconds.")
    var ttl: Int = 3600

    @OptionGroup var options: ServerOptions

    func run() async throws {
        guard ttl >= 1, ttl <= 30 * 86400 else { throw ValidationError("--ttl must be between 1 and 2592000 seconds.") }
        guard !user.isEmpty else { throw ValidationError("The user must not be empty.") }
        let configuration = try options.configuration()
        let issuer = try DevIssuer.loadOrCreate(directory: configuration.dataDirectory, issuer: configuration.apiBaseURL)
        say(try await issuer.token(for: user, ttl: .seconds(ttl)))
    }
}
