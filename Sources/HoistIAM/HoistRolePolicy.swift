/// The least-privilege IAM policies of Hoist's two processes, statement for statement those of
/// the task roles in `deploy/aws/hoist.yaml` (`ApiTaskRole`, `WorkerTaskRole`), for roles made
/// outside that stack (`hoist iam-policy api|worker`).
///
/// Key layout (Sources/Uploads/UploadKey.swift, Sources/ImageWorker):
/// `articles/<id>/raw/<uuid>.<ext>` uploads, `articles/<id>/processed/<uuid>/<name>.webp` derived
/// images, `quarantine/articles/<id>/raw/<uuid>.<ext>` rejected uploads.
///
/// ```swift
/// let policy = try HoistRolePolicy(bucket: "my-images").policy(for: .api)
/// print(policy.json)
/// ```
public struct HoistRolePolicy: Sendable, Equatable {
    /// Whose policy.
    public enum Role: String, Sendable, CaseIterable {
        /// `hoist api`: signs upload (PUT) and download (GET) URLs, so its URLs can do no more.
        case api
        /// `hoist worker`: reads uploads, writes derived images, quarantine copies and markers,
        /// lists the bucket (404 for a missing key) and consumes its queue.
        case worker
    }

    /// The uploads bucket.
    public let bucket: String
    /// The events queue's ARN (the worker's policy needs it).
    public let queueARN: String?
    /// The bucket's customer managed KMS key, when it uses SSE-KMS.
    public let kmsKeyARN: String?
    /// The ARN partition: `aws`, `aws-cn`, `aws-us-gov`.
    public let partition: String

    /// Creates the policies' inputs, each checked.
    /// - Parameters:
    ///   - bucket: the bucket's name (S3's naming rules).
    ///   - queueARN: `arn:<partition>:sqs:<region>:<account>:<name>`.
    ///   - kmsKeyARN: `arn:<partition>:kms:<region>:<account>:key/<id>`.
    ///   - partition: the partition of the bucket's ARN; default the queue's, else `aws`.
    /// - Throws: ``IAMPolicyError`` naming the input that is refused and why.
    public init(bucket: String, queueARN: String? = nil, kmsKeyARN: String? = nil, partition: String? = nil) throws(IAMPolicyError) {
        guard Self.isBucketName(bucket) else {
            throw IAMPolicyError("The bucket name '\(bucket)' is not an S3 bucket name: 3 to 63 lowercase letters, digits, "
                                 + "dots and hyphens, starting and ending with a letter or digit.")
        }
        var queuePartition: String?
        if let queueARN {
            guard let parts = Self.arn(queueARN, service: "sqs"), Self.isQueueName(parts.resource) else {
                throw IAMPolicyError("The queue ARN '\(queueARN)' is not an SQS queue ARN such as "
                                     + "arn:aws:sqs:eu-west-1:123456789012:my-images-events.")
            }
            queuePartition = parts.partition
        }
        if let kmsKeyARN {
            guard let parts = Self.arn(kmsKeyARN, service: "kms"), parts.resource.hasPrefix("key/"),
                  Self.isKeyId(parts.resource.dropFirst("key/".count)) else {
                throw IAMPolicyError("The KMS key ARN '\(kmsKeyARN)' is not a key ARN such as "
                                     + "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab.")
            }
        }
        let chosen = partition ?? queuePartition ?? "aws"
        guard Self.isPartition(chosen) else {
            throw IAMPolicyError("The partition '\(chosen)' is not an AWS partition (aws, aws-cn, aws-us-gov, …).")
        }
        if let queuePartition, queuePartition != chosen {
            throw IAMPolicyError("The queue ARN is in the partition '\(queuePartition)', the bucket in '\(chosen)'.")
        }
        self.bucket = bucket
        self.queueARN = queueARN
        self.kmsKeyARN = kmsKeyARN
        self.partition = chosen
    }

    /// The bucket's ARN.
    public var bucketARN: String { "arn:\(partition):s3:::\(bucket)" }

    /// The policy of `role`.
    /// - Throws: ``IAMPolicyError`` when the worker's policy is asked for without a queue ARN.
    public func policy(for role: Role) throws(IAMPolicyError) -> IAMPolicy {
        let objects = "\(bucketARN)/"
        let raw = objects + "articles/*/raw/*"
        let quarantine = objects + "quarantine/articles/*/raw/*"
        var statements: [IAMStatement]
        switch role {
        case .api:
            statements = [
                IAMStatement(sid: "UploadUrls", actions: ["s3:PutObject"], resources: [raw]),
                IAMStatement(sid: "DownloadUrls", actions: ["s3:GetObject"], resources: [objects + "articles/*"]),
                // Multipart uploads: CreateMultipartUpload, UploadPart and CompleteMultipartUpload are
                // s3:PutObject; the API also lists the parts and aborts.
                IAMStatement(sid: "MultipartUploads", actions: ["s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"], resources: [raw]),
            ]
        case .worker:
            guard let queueARN else {
                throw IAMPolicyError("The worker's policy needs the events queue's ARN (--queue-arn).")
            }
            statements = [
                // HeadObject, ranged GetObject and the download of an upload; HeadObject of its
                // quarantine copy; CopyObject's source.
                IAMStatement(sid: "ReadUploadsAndQuarantine", actions: ["s3:GetObject"], resources: [raw, quarantine]),
                // Derived images; the quarantine copy (CopyObject's destination); the empty marker
                // that replaces a rejected upload at its own key.
                IAMStatement(sid: "WriteDerivedQuarantineAndMarkers", actions: ["s3:PutObject"],
                             resources: [objects + "articles/*/processed/*", quarantine, raw]),
                // Without it S3 answers HeadObject of a missing key with 403, not 404.
                IAMStatement(sid: "MissingKeysAre404", actions: ["s3:ListBucket"], resources: [bucketARN]),
                // The sweeper aborts expired multipart uploads, freeing their parts.
                IAMStatement(sid: "AbortExpiredMultipartUploads", actions: ["s3:AbortMultipartUpload"], resources: [raw]),
                IAMStatement(sid: "ConsumeEvents",
                             actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
                             resources: [queueARN]),
            ]
        }
        if let kmsKeyARN {
            statements.append(IAMStatement(sid: "BucketKey", actions: ["kms:GenerateDataKey", "kms:Decrypt"], resources: [kmsKeyARN]))
        }
        return IAMPolicy(statements: statements)
    }

    // MARK: Checks

    static func isLowerAlnum(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("0"..."9").contains(c)
    }

    /// S3's rules for new buckets: 3–63 of `a-z 0-9 . -`, a letter or digit at each end, no `..`,
    /// not an IP address.
    static func isBucketName(_ name: String) -> Bool {
        let scalars = Array(name.unicodeScalars)
        guard (3...63).contains(scalars.count), let first = scalars.first, let last = scalars.last,
              isLowerAlnum(first), isLowerAlnum(last),
              scalars.allSatisfy({ isLowerAlnum($0) || $0 == "." || $0 == "-" }),
              !name.contains(".."), !name.contains(".-"), !name.contains("-.") else { return false }
        let octets = name.split(separator: ".", omittingEmptySubsequences: false)
        let looksLikeIP = octets.count == 4 && octets.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }
        return !looksLikeIP
    }

    static func isPartition(_ text: some StringProtocol) -> Bool {
        text.hasPrefix("aws") && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || $0 == "-" } && text.count <= 32
    }

    /// `arn:<partition>:<service>:<region>:<12-digit account>:<resource>`, split; `nil` when malformed.
    static func arn(_ text: String, service: String) -> (partition: String, resource: String)? {
        let parts = text.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", isPartition(parts[1]), parts[2] == service,
              !parts[3].isEmpty, parts[3].unicodeScalars.allSatisfy({ isLowerAlnum($0) || $0 == "-" }),
              parts[4].count == 12, parts[4].allSatisfy({ $0.isASCII && $0.isNumber }),
              !parts[5].isEmpty else { return nil }
        return (String(parts[1]), String(parts[5]))
    }

    /// SQS queue names: 1–80 of `A-Z a-z 0-9 - _`, with an optional `.fifo` suffix.
    static func isQueueName(_ name: String) -> Bool {
        let base = name.hasSuffix(".fifo") ? String(name.dropLast(".fifo".count)) : name
        return (1...80).contains(name.count) && !base.isEmpty
            && base.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    /// KMS key ids: letters, digits and hyphens (a UUID, or `mrk-…` for multi-Region keys).
    static func isKeyId(_ id: Substring) -> Bool {
        !id.isEmpty && id.count <= 128
            && id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}

/// An input the policies cannot be built from.
public struct IAMPolicyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is refused and why.
    public let description: String
    init(_ description: String) { self.description = description }
}
