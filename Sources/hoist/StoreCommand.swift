import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ObjectStore

/// `hoist store`: run the embedded S3-compatible object store.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract: "Run the embedded S3-compatible object store.",
        discussion: """
            A small S3-compatible server that checks SigV4 signatures exactly as S3 does: \
            header-signed requests, pre-signed URLs and aws-chunked uploads. Path-style \
            addressing (http://HOST:PORT/bucket/key). Data lives in --data: a SQLite index and \
            blob files.

            Credentials come from HOIST_STORE_ACCESS_KEY and HOIST_STORE_SECRET_KEY, or are made \
            on first start and kept in DATA/credentials.json (printed once, when made).

            Server access logs (PutBucketLogging) are delivered to their target buckets every \
            --access-log-interval seconds (default HOIST_ACCESS_LOG_INTERVAL, else 60), and at shutdown.

            Example:
              hoist store --data ./hoist-data --port 9000
              aws --endpoint-url http://127.0.0.1:9000 s3 mb s3://article-images
            """
    )

    @Option(help: "The data folder (index, blobs, credentials).")
    var data: String = "hoist-data"

    @Option(help: "The port to listen on.")
    var port: Int = 9000

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(help: "The region signatures must be scoped to.")
    var region: String = "us-east-1"

    @Option(help: "Seconds between deliveries of server access logs. Default: HOIST_ACCESS_LOG_INTERVAL, else 60.")
    var accessLogInterval: Int?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535.") }
        _ = try effectiveAccessLogInterval()
    }

    /// `--access-log-interval`, else `HOIST_ACCESS_LOG_INTERVAL`, else 60 seconds.
    func effectiveAccessLogInterval() throws -> Int {
        let name = S3ServerConfiguration.accessLogIntervalVariable, range = S3ServerConfiguration.accessLogIntervalRange
        if let accessLogInterval {
            guard range.contains(accessLogInterval) else {
                throw ValidationError("--access-log-interval must be between \(range.lowerBound) and \(range.upperBound) seconds.")
            }
            return accessLogInterval
        }
        guard let text = ProcessInfo.processInfo.environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return 60 }
        guard let seconds = Int(text), range.contains(seconds) else {
            throw ValidationError("\(name) must be a whole number of seconds in \(range.lowerBound)…\(range.upperBound); got '\(text)'.")
        }
        return seconds
    }

    func run() async throws {
        let directory = URL(fileURLWithPath: data)
        let (credentials, origin) = try StoreCredentials.load(directory: directory)
        let logger = makeLogger("hoist.store")
        let host = host, port = port
        let app = try S3Server.application(
            configuration: S3ServerConfiguration(host: host, port: port, dataDirectory: directory, region: region,
                                                 accessLogInterval: .seconds(try effectiveAccessLogInterval())),
            credentials: [credentials], logger: logger,
            onServerRunning: {
                say("hoist store listening on http://\(host):\(port)")
                switch origin {
                case .environment:
                    say("access key \(credentials.accessKeyId) (from HOIST_STORE_ACCESS_KEY)")
                case .file(let path):
                    say("access key \(credentials.accessKeyId) (secret in \(path))")
                case .created(let path):
                    say("created credentials, kept in \(path):")
                    say("  AWS_ACCESS_KEY_ID=\(credentials.accessKeyId)")
                    say("  AWS_SECRET_ACCESS_KEY=\(credentials.secretAccessKey)")
                }
            }
        )
        try await app.runService()
    }
}

/// Writes a line to standard output unbuffered, so scripts waiting for the ready line see it at once.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
