import ArgumentParser
import BucketKit
import Foundation
import HoistServer
import S3

/// `hoist bucket`: set up and check the uploads bucket.
struct BucketCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bucket",
        abstract: "Set up the uploads bucket (CORS, versioning, encryption, …) and check it.",
        discussion: """
            Both read the configuration of `hoist api` (HOIST_S3_ENDPOINT, HOIST_S3_ADDRESSING, HOIST_BUCKET, \
            HOIST_REGION, AWS credentials or HOIST_AWS_PROFILE, HOIST_CORS_ORIGINS, HOIST_URL_EXPIRY); options override it.

            Examples:
              hoist bucket setup --dry-run
              hoist bucket setup --origin https://app.example.com --queue-arn arn:aws:sqs:eu-west-1:123456789012:my-images-events
              hoist bucket doctor --bucket my-images --region eu-west-1
            """,
        subcommands: [BucketSetupCommand.self, BucketDoctorCommand.self]
    )
}

/// The options `setup` and `doctor` share.
struct BucketOptions: ParsableArguments {
    @Option(help: "The S3 endpoint, scheme://host[:port]. Default: HOIST_S3_ENDPOINT, else AWS S3 in the region.")
    var endpoint: String?

    @Option(help: "Bucket addressing: path or virtual. Default: HOIST_S3_ADDRESSING, else path with an endpoint, virtual for AWS.")
    var addressing: S3Endpoint.Addressing?

    @Option(help: "The bucket. Default: HOIST_BUCKET, else article-images.")
    var bucket: String?

    @Option(help: "The region requests are signed for. Default: HOIST_REGION, AWS_REGION, else us-east-1.")
    var region: String?

    @Option(help: "An origin of the app's pages, e.g. https://app.example.com (repeatable; '*' only if you mean it). Default: HOIST_CORS_ORIGINS.")
    var origin: [String] = []

    @Option(help: "The SQS queue new uploads under articles/ are announced to (arn:aws:sqs:REGION:ACCOUNT:NAME).")
    var queueArn: String?

    @Option(help: "Default encryption with this KMS key (SSE-KMS) instead of SSE-S3.")
    var kmsKeyId: String?

    @Option(help: "Days after which noncurrent versions and quarantine/ objects are deleted.")
    var retentionDays: Int = 30

    @Option(help: "Only this setting: cors, versioning, encryption, public-access, tls-policy, lifecycle, notification (repeatable).")
    var only: [BucketSetting] = []

    @Option(help: "Use this profile of ~/.aws/credentials. Default: HOIST_AWS_PROFILE.")
    var profile: String?

    func validate() throws {
        guard (1...36_500).contains(retentionDays) else { throw ValidationError("--retention-days must be between 1 and 36500.") }
        for o in origin where o != "*" {
            guard let r = o.range(of: "://"), !o[r.upperBound...].isEmpty, !o[r.upperBound...].contains("/"),
                  o.hasPrefix("http://") || o.hasPrefix("https://") else {
                throw ValidationError("--origin must be scheme://host[:port] (no path), or '*'; got '\(o)'.")
            }
        }
        if let bucket, bucket.isEmpty { throw ValidationError("--bucket must not be empty.") }
        if let queueArn {
            let fields = queueArn.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 6, fields[0] == "arn", fields[2] == "sqs", !fields[5].isEmpty else {
                throw ValidationError("--queue-arn must be an SQS queue ARN, arn:aws:sqs:REGION:ACCOUNT:NAME; got '\(queueArn)'.")
            }
        }
    }

    /// The wanted state and a client for the bucket, from the environment and these options.
    func resolve() throws -> (BucketWants, S3Client?, credentialError: String?) {
        let configuration: HoistConfiguration
        do {
            configuration = try HoistConfiguration(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError("\(error)")
        }
        let region = self.region ?? configuration.region
        var target: S3Endpoint
        do {
            if let url = endpoint ?? configuration.s3Endpoint {
                target = try S3Endpoint(url: url, addressing: addressing ?? configuration.addressing ?? .path)
            } else {
                target = S3Endpoint.aws(region: region)
                if let a = addressing ?? configuration.addressing { target.addressing = a }
            }
        } catch {
            throw ValidationError("\(error)")
        }
        var command: [String] = []
        if let endpoint { command.append("--endpoint \(endpoint)") }
        if let bucket { command.append("--bucket \(bucket)") }
        if let r = self.region { command.append("--region \(r)") }
        for o in origin { command.append("--origin '\(o)'") }
        if let queueArn { command.append("--queue-arn \(queueArn)") }
        if let kmsKeyId { command.append("--kms-key-id \(kmsKeyId)") }
        if retentionDays != 30 { command.append("--retention-days \(retentionDays)") }
        let wants = BucketWants(bucket: bucket ?? configuration.bucket,
                                origins: origin.isEmpty ? configuration.effectiveCORSOrigins : origin,
                                queueArn: queueArn, kmsKeyId: kmsKeyId, retentionDays: retentionDays,
                                urlExpiry: configuration.policy.uploadURLExpiry,
                                only: only.isEmpty ? Set(BucketSetting.allCases) : Set(only),
                                endpointUsesTLS: target.scheme == "https", setupArguments: command)
        do {
            let credentials = try configuration.credentialChain.provider(profile: profile ?? configuration.awsProfile)
            return (wants, S3Client(endpoint: target, region: region, credentials: credentials), nil)
        } catch {
            return (wants, nil, "\(error)")
        }
    }
}

/// `hoist bucket setup`.
struct BucketSetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Bring the bucket's settings to what Hoist needs; idempotent (reads first, changes only what differs).",
        discussion: """
            CORS for the app's origins (PUT POST GET HEAD; the headers upload URLs bind; ETag and x-amz-version-id \
            exposed; max age 3000), versioning Enabled, default encryption (SSE-S3, or SSE-KMS with --kms-key-id), \
            Block Public Access, a policy denying non-TLS requests (https endpoints), lifecycle (incomplete multipart \
            uploads aborted after 1 day, noncurrent versions and quarantine/ deleted after --retention-days), and with \
            --queue-arn the s3:ObjectCreated:* notification under articles/. One line per setting: `ok: …` when \
            already as wanted, `set: …` for a change, `warn: …` when the endpoint does not support it. Exit status 1 \
            when a change failed.
            """
    )

    @OptionGroup var options: BucketOptions

    @Flag(help: "Print the plan and change nothing.")
    var dryRun = false

    func run() async throws {
        let (wants, client, credentialError) = try options.resolve()
        guard let s3 = client else {
            print("FAIL: credentials: \(credentialError ?? "none")")
            throw ExitCode(1)
        }
        let state = await BucketInspector(s3: s3).state(of: wants)
        guard state.access == .ok else {
            for finding in BucketDoctor.findings(state: state, probe: nil, wants: wants) where finding.status == .fail {
                print("FAIL: \(finding.check): \(finding.detail)")
                if let fix = finding.fix { print("  fix: \(fix)") }
            }
            throw ExitCode(1)
        }
        let probe = BucketProbe(s3: s3)
        let bucket = wants.bucket
        let lines = await BucketSetup(s3: s3, uploadCheck: { await probe.uploadWorks(bucket: bucket) }).apply(BucketPlan.steps(from: state, to: wants), bucket: wants.bucket, dryRun: dryRun)
        for line in lines { print(line.line) }
        if dryRun { print("dry run: nothing was changed") }
        let status = BucketSetup.exitStatus(lines)
        if status != 0 { throw ExitCode(status) }
    }
}

/// `hoist bucket doctor`.
struct BucketDoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the bucket: settings, a real CORS preflight, a pre-signed PUT/GET/DELETE, the clock and the credentials.",
        discussion: """
            One line per check, `ok|warn|FAIL  check: detail`, and for a problem what breaks and the fix. \
            Exit status 1 when something a browser upload needs is wrong (bucket, credentials, clock skew over 15 \
            minutes, CORS, the preflight, ETag not readable, the probe); 0 otherwise, warnings included. The probe \
            writes and deletes hoist-doctor/probe-<random>.
            """
    )

    @OptionGroup var options: BucketOptions

    func run() async throws {
        let (wants, client, credentialError) = try options.resolve()
        let findings: [BucketFinding]
        if let s3 = client {
            let state = await BucketInspector(s3: s3).state(of: wants)
            let probe = state.access == .ok ? await BucketProbe(s3: s3).run(wants) : nil
            findings = BucketDoctor.findings(state: state, probe: probe, wants: wants)
        } else {
            findings = BucketDoctor.findings(state: BucketState(bucket: wants.bucket, access: .unreachable("no credentials"),
                                                                credentials: .missing(credentialError ?? "none")),
                                             probe: nil, wants: wants)
        }
        for finding in findings {
            for line in finding.lines { print(line) }
        }
        let failed = findings.filter { $0.status == .fail }.count
        let warned = findings.filter { $0.status == .warn }.count
        print("\(failed) failed, \(warned) warnings, \(findings.count - failed - warned) ok")
        let status = BucketDoctor.exitStatus(findings)
        if status != 0 { throw ExitCode(status) }
    }
}

extension BucketSetting: ExpressibleByArgument {}
