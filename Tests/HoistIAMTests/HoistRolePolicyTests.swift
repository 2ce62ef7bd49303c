import Foundation
import HoistIAM
import Testing

@Suite("IAM policies of the roles")
struct HoistRolePolicyTests {
    static let queue = "arn:aws:sqs:eu-west-1:123456789012:my-images-events"
    static let key = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    @Test("the API: PutObject on raw uploads, GetObject on articles; KMS only with a key")
    func api() throws {
        let policy = try HoistRolePolicy(bucket: "my-images").policy(for: .api)
        #expect(policy.statements == [
            IAMStatement(sid: "UploadUrls", actions: ["s3:PutObject"], resources: ["arn:aws:s3:::my-images/articles/*/raw/*"]),
            IAMStatement(sid: "DownloadUrls", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::my-images/articles/*"]),
            IAMStatement(sid: "MultipartUploads", actions: ["s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                         resources: ["arn:aws:s3:::my-images/articles/*/raw/*"]),
        ])
        let withKey = try HoistRolePolicy(bucket: "my-images", kmsKeyARN: Self.key).policy(for: .api)
        #expect(withKey.statements.last == IAMStatement(sid: "BucketKey", actions: ["kms:GenerateDataKey", "kms:Decrypt"], resources: [Self.key]))
        #expect(withKey.statements.count == 4)
    }

    @Test("the worker: reads, writes, lists, consumes its queue; never deletes")
    func worker() throws {
        let policy = try HoistRolePolicy(bucket: "my-images", queueARN: Self.queue).policy(for: .worker)
        let b = "arn:aws:s3:::my-images"
        #expect(policy.statements == [
            IAMStatement(sid: "ReadUploadsAndQuarantine", actions: ["s3:GetObject"],
                         resources: ["\(b)/articles/*/raw/*", "\(b)/quarantine/articles/*/raw/*"]),
            IAMStatement(sid: "WriteDerivedQuarantineAndMarkers", actions: ["s3:PutObject"],
                         resources: ["\(b)/articles/*/processed/*", "\(b)/quarantine/articles/*/raw/*", "\(b)/articles/*/raw/*"]),
            IAMStatement(sid: "MissingKeysAre404", actions: ["s3:ListBucket"], resources: [b]),
            IAMStatement(sid: "AbortExpiredMultipartUploads", actions: ["s3:AbortMultipartUpload"], resources: ["\(b)/articles/*/raw/*"]),
            IAMStatement(sid: "ConsumeEvents",
                         actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
                         resources: [Self.queue]),
        ])
        #expect(!policy.statements.flatMap(\.actions).contains { $0.contains("Delete") && $0.hasPrefix("s3:") })
        #expect(throws: IAMPolicyError.self) { try HoistRolePolicy(bucket: "my-images").policy(for: .worker) }
    }

    @Test("the partition follows the queue's, or --partition")
    func partitions() throws {
        let china = try HoistRolePolicy(bucket: "my-images", queueARN: "arn:aws-cn:sqs:cn-north-1:123456789012:q").policy(for: .worker)
        #expect(china.statements[0].resources[0] == "arn:aws-cn:s3:::my-images/articles/*/raw/*")
        let gov = try HoistRolePolicy(bucket: "my-images", partition: "aws-us-gov").policy(for: .api)
        #expect(gov.statements[0].resources[0].hasPrefix("arn:aws-us-gov:s3:::"))
        #expect(throws: IAMPolicyError.self) {
            try HoistRolePolicy(bucket: "my-images", queueARN: "arn:aws-cn:sqs:cn-north-1:123456789012:q", partition: "aws")
        }
    }

    @Test("bad input: clear errors")
    func badInput() {
        for bucket in ["", "ab", "My-Images", "-images", "images-", "a..b", "192.168.1.1", String(repeating: "a", count: 64), "a/b", "a*b", "ünï"] {
            #expect(throws: IAMPolicyError.self, "\(bucket)") { try HoistRolePolicy(bucket: bucket) }
        }
        for queue in ["", "arn:aws:sqs:eu-west-1:123:q", "arn:aws:s3:eu-west-1:123456789012:q", "arn:aws:sqs:eu-west-1:123456789012:",
                      "arn:aws:sqs:eu-west-1:123456789012:q*", "arn:aws:sqs:eu-west-1:123456789012:a/b", "sqs:q",
                      "https://sqs.eu-west-1.amazonaws.com/123456789012/q"] {
            #expect(throws: IAMPolicyError.self, "\(queue)") { try HoistRolePolicy(bucket: "b-1", queueARN: queue) }
        }
        for key in ["", "arn:aws:kms:eu-west-1:123456789012:alias/x", "arn:aws:kms:eu-west-1:123456789012:key/*", "1234abcd"] {
            #expect(throws: IAMPolicyError.self, "\(key)") { try HoistRolePolicy(bucket: "b-1", kmsKeyARN: key) }
        }
        #expect(throws: IAMPolicyError.self) { try HoistRolePolicy(bucket: "b-1", partition: "azure") }
        do {
            _ = try HoistRolePolicy(bucket: "Bad_Bucket")
        } catch {
            #expect(error.description.hasPrefix("The bucket name 'Bad_Bucket' is not an S3 bucket name"))
        }
    }

    @Test("the JSON: valid, the template's shapes (one action or resource as a string), keys in reading order")
    func json() throws {
        let policy = try HoistRolePolicy(bucket: "my.images-1", queueARN: Self.queue, kmsKeyARN: Self.key).policy(for: .worker)
        let text = policy.json
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(object?["Version"] as? String == "2012-10-17")
        let statements = object?["Statement"] as? [[String: Any]] ?? []
        #expect(statements.count == 6)
        #expect(statements.first?["Action"] as? String == "s3:GetObject")
        #expect((statements.first?["Resource"] as? [String])?.count == 2)
        #expect(statements.allSatisfy { $0["Effect"] as? String == "Allow" })
        #expect(text.hasPrefix("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Sid\": \"ReadUploadsAndQuarantine\",\n      \"Effect\": \"Allow\","))
        #expect(text.hasSuffix("\n  ]\n}\n"))
        #expect(IAMPolicy(statements: []).json == "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": []\n}\n")
    }
}
