import ArgumentParser
import Foundation
import HoistServer

/// `hoist worker`: the image worker alone, fed by Amazon SQS (or anything speaking its protocol).
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run the image worker alone: S3 event notifications from an SQS queue, objects in any S3.",
        discussion: """
            The queue receives the bucket's event notifications (S3's format); give its URL with --queue-url or \
            HOIST_SQS_QUEUE_URL. Storage and credentials as for `hoist api`: HOIST_S3_ENDPOINT (default AWS S3 in \
            HOIST_REGION), HOIST_BUCKET, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, \
            HOIST_AWS_PROFILE, or the container credentials endpoint (an ECS task role; `hoist iam-policy worker` prints \
            its least-privilege policy). Upload records are the data folder's (shared with `hoist api`), or PostgreSQL's with \
            --database or HOIST_DATABASE_URL. The queue's \
            redrive policy decides when a failing event goes to its dead-letter queue. `hoist serve` runs the \
            same worker in-process on its own outbox and needs none of this.
            """
    )

    @OptionGroup var options: ServerOptions

    @OptionGroup var database: DatabaseOption

    @Option(help: "The SQS queue URL. Default: HOIST_SQS_QUEUE_URL.")
    var queueURL: String?

    @Option(help: "Where events come from: sqs (--queue-url) or postgres (the queue hoist-events in the --database).")
    var queue: String = "sqs"

    func run() async throws {
        var configuration = try options.configuration()
        try database.apply(to: &configuration)
        if queue == "postgres" {
            guard configuration.postgres != nil else {
                throw ValidationError("--queue postgres needs the records in PostgreSQL: --database or HOIST_DATABASE_URL.")
            }
            try await HoistServer.worker(configuration: configuration, queueURL: nil, logger: makeLogger("hoist.worker")) { line in
                say(line)
            }
            return
        }
        guard queue == "sqs" else { throw ValidationError("--queue must be sqs or postgres.") }
        guard let url = queueURL ?? ProcessInfo.processInfo.environment["HOIST_SQS_QUEUE_URL"], !url.isEmpty else {
            throw ValidationError("Give the SQS queue URL with --queue-url or HOIST_SQS_QUEUE_URL.")
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw ValidationError("The queue URL must be an http(s) URL, such as https://sqs.us-east-1.amazonaws.com/123456789012/uploads.")
        }
        try await HoistServer.worker(configuration: configuration, queueURL: url, logger: makeLogger("hoist.worker")) { line in
            say(line)
        }
    }
}
