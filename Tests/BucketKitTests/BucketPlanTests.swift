import BucketKit
import Foundation
import S3
import Testing

/// Setup's plan: from a bucket's current state to the changes, with no network.
@Suite("Bucket setup plan")
struct BucketPlanTests {
    static let app = "https://app.example.com"
    static let queue = "arn:aws:sqs:eu-west-1:123456789012:my-images-events"

    static func wants(only: Set<BucketSetting> = Set(BucketSetting.allCases), queueArn: String? = queue, kmsKeyId: String? = nil,
                      tls: Bool = true, origins: [String] = [app]) -> BucketWants {
        BucketWants(bucket: "my-images", origins: origins, queueArn: queueArn, kmsKeyId: kmsKeyId, retentionDays: 30,
                    only: only, endpointUsesTLS: tls)
    }

    /// A bucket as setup leaves it.
    static func configured(_ w: BucketWants = wants()) -> BucketState {
        var s = BucketState(bucket: "my-images")
        s.cors = .value([w.corsRule])
        s.versioning = .value("Enabled")
        s.encryption = .value(S3BucketEncryption(algorithm: "AES256"))
        s.publicAccess = .value(.allBlocked)
        s.policy = .value("""
            {"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Deny","Principal":{"AWS":"*"},"Action":["s3:*"],
             "Resource":["arn:aws:s3:::my-images/*","arn:aws:s3:::my-images"],"Condition":{"Bool":{"aws:SecureTransport":false}}}]}
            """)
        s.lifecycle = .value(w.lifecycleRules)
        s.notification = .value(S3NotificationConfiguration(queues: [.init(id: "other-id", queueArn: queue, events: ["s3:ObjectCreated:*"], prefix: "articles/")]))
        return s
    }

    static func empty() -> BucketState {
        var s = BucketState(bucket: "my-images")
        s.cors = .value([])
        s.versioning = .value(nil)
        s.encryption = .value(nil)
        s.publicAccess = .value(nil)
        s.policy = .value(nil)
        s.lifecycle = .value([])
        s.notification = .value(S3NotificationConfiguration())
        return s
    }

    static func changes(_ steps: [BucketStep]) -> [BucketSetting] {
        steps.compactMap { if case .change = $0 { $0.setting } else { nil } }
    }

    @Test("a bucket already set up: every step is ok, nothing to write")
    func idempotent() {
        let steps = BucketPlan.steps(from: Self.configured(), to: Self.wants())
        #expect(steps.count == BucketSetting.allCases.count)
        #expect(Self.changes(steps).isEmpty)
        for step in steps {
            guard case let .ok(_, text) = step else { Issue.record("not ok: \(step)"); continue }
            #expect(text.contains("already as wanted"))
        }
    }

    @Test("a new bucket: one change per setting, with the documents Hoist wants")
    func fromNothing() throws {
        let w = Self.wants()
        let steps = BucketPlan.steps(from: Self.empty(), to: w)
        #expect(Self.changes(steps) == BucketSetting.allCases)
        for step in steps {
            guard case let .change(setting, _, change) = step else { continue }
            switch change {
            case let .cors(rules):
                #expect(rules == [w.corsRule])
                #expect(rules[0].allowedOrigins == [Self.app])
                #expect(rules[0].allowedMethods == ["PUT", "POST", "GET", "HEAD"])
                #expect(rules[0].allowedHeaders.contains("if-none-match") && rules[0].allowedHeaders.contains("x-amz-*"))
                #expect(rules[0].exposeHeaders == ["ETag", "x-amz-version-id"])
                #expect(rules[0].maxAgeSeconds == 3000)
            case .versioning: #expect(setting == .versioning)
            case let .encryption(e): #expect(e == S3BucketEncryption(algorithm: "AES256"))
            case let .publicAccessBlock(b, previous): #expect(b.isAllBlocked && previous == nil)
            case let .policy(json):
                let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
                let statement = try #require((root["Statement"] as? [[String: Any]])?.first)
                #expect(statement["Effect"] as? String == "Deny")
                #expect(statement["Principal"] as? String == "*")
                #expect(statement["Action"] as? String == "s3:*")
                #expect(statement["Resource"] as? [String] == ["arn:aws:s3:::my-images", "arn:aws:s3:::my-images/*"])
                #expect((statement["Condition"] as? [String: [String: String]])?["Bool"]?["aws:SecureTransport"] == "false")
            case let .lifecycle(rules, fallback):
                #expect(rules.map(\.id) == ["hoist-abort-incomplete-uploads", "hoist-noncurrent-versions", "hoist-quarantine"])
                #expect(rules[0].abortIncompleteMultipartUploadDays == 1 && rules[0].prefix == "")
                #expect(rules[1].noncurrentVersionExpirationDays == 30)
                #expect(rules[2].prefix == "quarantine/" && rules[2].expirationDays == 30)
                #expect(fallback?.map(\.id) == ["hoist-abort-incomplete-uploads", "hoist-quarantine"])
            case let .notification(n):
                #expect(n.queues == [.init(id: "hoist-articles", queueArn: Self.queue, events: ["s3:ObjectCreated:*"], prefix: "articles/")])
            }
        }
    }

    @Test("CORS: ETag not exposed, a wildcard origin, a missing origin each need a change; other rules are kept after ours")
    func cors() {
        let w = Self.wants()
        var noETag = w.corsRule
        noETag.exposeHeaders = ["x-amz-version-id"]
        var wildcard = w.corsRule
        wildcard.id = "anyone"
        wildcard.allowedOrigins = ["*"]
        let other = S3CORSRule(id: "cdn", allowedOrigins: ["https://cdn.example.com"], allowedMethods: ["GET"])
        for rules in [[noETag], [wildcard], [w.corsRule, wildcard], [other]] {
            var s = Self.configured()
            s.cors = .value(rules)
            let step = BucketPlan.steps(from: s, to: Self.wants(only: [.cors]))
            guard case let .change(_, _, .cors(written)) = step.first else { Issue.record("no change for \(rules)"); continue }
            #expect(written.first == w.corsRule)
            #expect(!written.dropFirst().contains { $0.allowedOrigins.contains("*") })
            #expect(written.contains(other) == rules.contains(other))
        }
        // '*' asked for explicitly is kept and is as wanted.
        let star = Self.wants(only: [.cors], origins: ["*"])
        var s = Self.configured()
        s.cors = .value([star.corsRule])
        #expect(Self.changes(BucketPlan.steps(from: s, to: star)).isEmpty)
    }

    @Test("CORS: the first rule matching origin, PUT and headers is the one judged, as S3 does")
    func corsFirstMatch() {
        let w = Self.wants(only: [.cors])
        var early = w.corsRule
        early.id = "early"
        early.exposeHeaders = []
        var s = Self.configured()
        s.cors = .value([early, w.corsRule])
        #expect(Self.changes(BucketPlan.steps(from: s, to: w)) == [.cors])
        // A wildcard header pattern and an origin pattern match.
        let patterned = S3CORSRule(allowedOrigins: ["https://*.example.com"], allowedMethods: ["PUT", "POST", "GET", "HEAD"],
                                   allowedHeaders: ["*"], exposeHeaders: ["etag", "X-Amz-Version-Id"], maxAgeSeconds: 60)
        s.cors = .value([patterned])
        #expect(Self.changes(BucketPlan.steps(from: s, to: w)).isEmpty)
    }

    @Test("versioning suspended, public access partly open, no encryption: changes; KMS wanted over AES256: a change")
    func settings() {
        var s = Self.configured()
        s.versioning = .value("Suspended")
        s.publicAccess = .value(S3PublicAccessBlock(blockPublicAcls: true, ignorePublicAcls: true, blockPublicPolicy: false, restrictPublicBuckets: true))
        s.encryption = .value(nil)
        let steps = BucketPlan.steps(from: s, to: Self.wants())
        #expect(Self.changes(steps) == [.versioning, .encryption, .publicAccess])
        if case let .change(_, text, _) = steps.first(where: { $0.setting == .publicAccess }) {
            #expect(text.contains("BlockPublicPolicy"))
        }
        let kms = Self.wants(only: [.encryption], kmsKeyId: "1234abcd")
        #expect(Self.changes(BucketPlan.steps(from: Self.configured(), to: kms)) == [.encryption])
        var withKey = Self.configured()
        withKey.encryption = .value(S3BucketEncryption(algorithm: "aws:kms", kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd"))
        #expect(Self.changes(BucketPlan.steps(from: withKey, to: kms)).isEmpty)
    }

    @Test("lifecycle: a missing abort rule is added and other rules are kept; a wrong retention is a change")
    func lifecycle() {
        var s = Self.configured()
        let other = S3LifecycleRule(id: "logs", prefix: "logs/", expirationDays: 7)
        s.lifecycle = .value([other] + Self.wants().lifecycleRules.dropFirst())
        let steps = BucketPlan.steps(from: s, to: Self.wants(only: [.lifecycle]))
        guard case let .change(_, text, .lifecycle(rules, _)) = steps.first else { Issue.record("no change"); return }
        #expect(text.contains("AbortIncompleteMultipartUpload"))
        #expect(!text.contains("Noncurrent"))
        #expect(rules.first == other)
        #expect(rules.count == 4)
        // Only NoncurrentVersionExpiration missing (a store without it): no fallback to write again.
        var noNoncurrent = Self.configured()
        noNoncurrent.lifecycle = .value(Self.wants().lifecycleRules.filter { $0.noncurrentVersionExpirationDays == nil })
        guard case .change(_, _, .lifecycle(_, nil)) = BucketPlan.steps(from: noNoncurrent, to: Self.wants(only: [.lifecycle])).first else {
            Issue.record("expected a change without fallback"); return
        }
        var longer = Self.wants(only: [.lifecycle])
        longer.retentionDays = 90
        #expect(Self.changes(BucketPlan.steps(from: Self.configured(), to: longer)) == [.lifecycle])
    }

    @Test("notification: skipped without a queue ARN, added to the others with one")
    func notification() {
        let none = BucketPlan.steps(from: Self.empty(), to: Self.wants(only: [.notification], queueArn: nil))
        guard case .skipped = none.first else { Issue.record("not skipped: \(none)"); return }
        var s = Self.configured()
        let other = S3NotificationConfiguration.Queue(id: "thumbs", queueArn: "arn:aws:sqs:eu-west-1:123456789012:other",
                                                      events: ["s3:ObjectRemoved:*"])
        s.notification = .value(S3NotificationConfiguration(queues: [other]))
        guard case let .change(_, _, .notification(n)) = BucketPlan.steps(from: s, to: Self.wants(only: [.notification])).first else {
            Issue.record("no change"); return
        }
        #expect(n.queues.first == other)
        #expect(n.queues.count == 2)
    }

    @Test("tls-policy: skipped on plain http; added to an existing policy; an unreadable policy is left alone")
    func tlsPolicy() throws {
        guard case .skipped = BucketPlan.steps(from: Self.empty(), to: Self.wants(only: [.tlsPolicy], tls: false)).first else {
            Issue.record("not skipped"); return
        }
        var s = Self.configured()
        s.policy = .value(#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-images/public/*"}]}"#)
        guard case let .change(_, _, .policy(json)) = BucketPlan.steps(from: s, to: Self.wants(only: [.tlsPolicy])).first else {
            Issue.record("no change"); return
        }
        let root = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((root["Statement"] as? [[String: Any]])?.compactMap { $0["Sid"] as? String } == ["Read", "HoistDenyInsecureTransport"])
        s.policy = .value("not json")
        guard case .failed = BucketPlan.steps(from: s, to: Self.wants(only: [.tlsPolicy])).first else { Issue.record("not failed"); return }
    }

    @Test("unsupported and unreadable settings are reported, never written; --only limits the plan")
    func unsupported() {
        var s = Self.empty()
        s.encryption = .notSupported("PutBucketEncryption answered HTTP 501 NotImplemented")
        s.cors = .failed("GetBucketCors answered HTTP 403 AccessDenied")
        let steps = BucketPlan.steps(from: s, to: Self.wants(only: [.cors, .encryption]))
        #expect(steps.map(\.setting) == [.cors, .encryption])
        guard case .failed = steps[0], case .unsupported = steps[1] else { Issue.record("\(steps)"); return }
    }
}
