import ArgumentParser
import Foundation
import HoistIAM

/// `hoist iam-policy`: print the least-privilege IAM policy of `hoist api` or `hoist worker`.
struct IAMPolicyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iam-policy",
        abstract: "Print the least-privilege IAM policy (JSON) of the role that runs `hoist api` or `hoist worker`.",
        discussion: """
            The same statements as the task roles of deploy/aws/hoist.yaml, for roles made elsewhere \
            (Terraform, the console, another stack). The API may PutObject on articles/*/raw/* and GetObject \
            on articles/*: the URLs it signs can do no more. The worker may read uploads and quarantine/, write \
            processed/, quarantine/ and the rejection marker, ListBucket, and consume its queue. With \
            --kms-key-arn, both may use the bucket's KMS key.

            Examples:
              hoist iam-policy api --bucket my-images
              hoist iam-policy worker --bucket my-images --queue-arn arn:aws:sqs:eu-west-1:123456789012:my-images-events
              aws iam put-role-policy --role-name hoist-api --policy-name hoist-api \\
                  --policy-document "$(hoist iam-policy api --bucket my-images)"
            """
    )

    @Argument(help: "Whose policy: api or worker.")
    var role: HoistRolePolicy.Role

    @Option(help: "The uploads bucket. Default: HOIST_BUCKET.")
    var bucket: String?

    @Option(help: "The events queue's ARN (worker only), e.g. arn:aws:sqs:eu-west-1:123456789012:my-images-events.")
    var queueArn: String?

    @Option(help: "The bucket's customer managed KMS key (SSE-KMS), e.g. arn:aws:kms:eu-west-1:123456789012:key/….")
    var kmsKeyArn: String?

    @Option(help: "The ARN partition (aws, aws-cn, aws-us-gov). Default: the queue ARN's, else aws.")
    var partition: String?

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        guard let bucket = bucket ?? env["HOIST_BUCKET"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("Give the bucket with --bucket or HOIST_BUCKET.")
        }
        if role == .api, queueArn != nil {
            throw ValidationError("--queue-arn is for the worker's policy: the API does not read the queue.")
        }
        if role == .worker, queueArn == nil {
            throw ValidationError("The worker's policy needs the events queue's ARN: --queue-arn arn:aws:sqs:REGION:ACCOUNT:NAME.")
        }
        do {
            let policies = try HoistRolePolicy(bucket: bucket, queueARN: queueArn, kmsKeyARN: kmsKeyArn, partition: partition)
            print(try policies.policy(for: role).json, terminator: "")
        } catch {
            throw ValidationError(error.description)
        }
    }
}

extension HoistRolePolicy.Role: ExpressibleByArgument {}
