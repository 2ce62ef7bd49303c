import Foundation

/// One rule of a bucket's CORS configuration (`<CORSRule>`).
///
/// ```swift
/// let rule = S3CORSRule(id: "uploads", allowedOrigins: ["https://app.example.com"], allowedMethods: ["PUT", "GET"],
///                       allowedHeaders: ["content-type"], exposeHeaders: ["ETag"], maxAgeSeconds: 3000)
/// ```
public struct S3CORSRule: Sendable, Hashable {
    /// The rule's `ID`, if any.
    public var id: String?
    /// `AllowedOrigin`s (`*` allows every origin).
    public var allowedOrigins: [String]
    /// `AllowedMethod`s: `GET`, `PUT`, `POST`, `DELETE`, `HEAD`.
    public var allowedMethods: [String]
    /// `AllowedHeader`s a preflight may ask for (one `*` wildcard each).
    public var allowedHeaders: [String]
    /// `ExposeHeader`s the browser lets scripts read.
    public var exposeHeaders: [String]
    /// `MaxAgeSeconds`: how long a browser may cache the preflight.
    public var maxAgeSeconds: Int?

    /// Creates a rule.
    public init(id: String? = nil, allowedOrigins: [String], allowedMethods: [String], allowedHeaders: [String] = [],
                exposeHeaders: [String] = [], maxAgeSeconds: Int? = nil) {
        self.id = id
        self.allowedOrigins = allowedOrigins
        self.allowedMethods = allowedMethods
        self.allowedHeaders = allowedHeaders
        self.exposeHeaders = exposeHeaders
        self.maxAgeSeconds = maxAgeSeconds
    }

    /// Parses the rules of a `<CORSConfiguration>` document.
    static func parse(_ xml: String) -> [S3CORSRule] {
        S3XML.elements(named: "CORSRule", in: xml).map { rule in
            S3CORSRule(id: S3XML.text(of: "ID", in: rule),
                       allowedOrigins: S3XML.texts(of: "AllowedOrigin", in: rule),
                       allowedMethods: S3XML.texts(of: "AllowedMethod", in: rule),
                       allowedHeaders: S3XML.texts(of: "AllowedHeader", in: rule),
                       exposeHeaders: S3XML.texts(of: "ExposeHeader", in: rule),
                       maxAgeSeconds: S3XML.text(of: "MaxAgeSeconds", in: rule).flatMap { Int($0) })
        }
    }

    /// The `<CORSConfiguration>` document of `rules`.
    static func render(_ rules: [S3CORSRule]) -> String {
        S3XML.document("CORSConfiguration", rules.map { rule in
            var x = "<CORSRule>"
            if let id = rule.id { x += S3XML.element("ID", id) }
            x += rule.allowedOrigins.map { S3XML.element("AllowedOrigin", $0) }.joined()
            x += rule.allowedMethods.map { S3XML.element("AllowedMethod", $0) }.joined()
            x += rule.allowedHeaders.map { S3XML.element("AllowedHeader", $0) }.joined()
            x += rule.exposeHeaders.map { S3XML.element("ExposeHeader", $0) }.joined()
            if let age = rule.maxAgeSeconds { x += S3XML.element("MaxAgeSeconds", String(age)) }
            return x + "</CORSRule>"
        }.joined())
    }
}

/// A bucket's default encryption (`ServerSideEncryptionConfiguration`, its first rule).
public struct S3BucketEncryption: Sendable, Hashable {
    /// `AES256` (SSE-S3), `aws:kms` or `aws:kms:dsse`.
    public var algorithm: String
    /// The KMS key (ARN, id or alias) with `aws:kms`; `nil`: the account's AWS managed key.
    public var kmsKeyId: String?
    /// Whether S3 Bucket Keys are on (fewer KMS calls), when the endpoint says.
    public var bucketKeyEnabled: Bool?

    /// Creates a setting.
    public init(algorithm: String, kmsKeyId: String? = nil, bucketKeyEnabled: Bool? = nil) {
        self.algorithm = algorithm
        self.kmsKeyId = kmsKeyId
        self.bucketKeyEnabled = bucketKeyEnabled
    }

    static func parse(_ xml: String) -> S3BucketEncryption? {
        guard let algorithm = S3XML.text(of: "SSEAlgorithm", in: Substring(xml)) else { return nil }
        let key = S3XML.text(of: "KMSMasterKeyID", in: Substring(xml)).flatMap { $0.isEmpty ? nil : $0 }
        let bucketKey = S3XML.text(of: "BucketKeyEnabled", in: Substring(xml)).map { $0.lowercased() == "true" }
        return S3BucketEncryption(algorithm: algorithm, kmsKeyId: key, bucketKeyEnabled: bucketKey)
    }

    var xml: String {
        var inner = S3XML.element("SSEAlgorithm", algorithm)
        if let kmsKeyId { inner += S3XML.element("KMSMasterKeyID", kmsKeyId) }
        var rule = "<ApplyServerSideEncryptionByDefault>\(inner)</ApplyServerSideEncryptionByDefault>"
        if let bucketKeyEnabled { rule += S3XML.element("BucketKeyEnabled", bucketKeyEnabled ? "true" : "false") }
        return S3XML.document("ServerSideEncryptionConfiguration", "<Rule>\(rule)</Rule>")
    }
}

/// A bucket's Block Public Access settings (`PublicAccessBlockConfiguration`).
public struct S3PublicAccessBlock: Sendable, Hashable {
    /// Refuse requests that set public ACLs.
    public var blockPublicAcls: Bool
    /// Ignore public ACLs already there.
    public var ignorePublicAcls: Bool
    /// Refuse bucket policies that grant public access.
    public var blockPublicPolicy: Bool
    /// Limit a public policy's effect to AWS principals of the account.
    public var restrictPublicBuckets: Bool

    /// Creates a setting.
    public init(blockPublicAcls: Bool, ignorePublicAcls: Bool, blockPublicPolicy: Bool, restrictPublicBuckets: Bool) {
        self.blockPublicAcls = blockPublicAcls
        self.ignorePublicAcls = ignorePublicAcls
        self.blockPublicPolicy = blockPublicPolicy
        self.restrictPublicBuckets = restrictPublicBuckets
    }

    /// All four on.
    public static let allBlocked = S3PublicAccessBlock(blockPublicAcls: true, ignorePublicAcls: true,
                                                       blockPublicPolicy: true, restrictPublicBuckets: true)

    /// Whether all four are on.
    public var isAllBlocked: Bool { blockPublicAcls && ignorePublicAcls && blockPublicPolicy && restrictPublicBuckets }

    static func parse(_ xml: String) -> S3PublicAccessBlock {
        let x = Substring(xml)
        func flag(_ name: String) -> Bool { S3XML.text(of: name, in: x)?.lowercased() == "true" }
        return S3PublicAccessBlock(blockPublicAcls: flag("BlockPublicAcls"), ignorePublicAcls: flag("IgnorePublicAcls"),
                                   blockPublicPolicy: flag("BlockPublicPolicy"), restrictPublicBuckets: flag("RestrictPublicBuckets"))
    }

    var xml: String {
        func flag(_ name: String, _ value: Bool) -> String { S3XML.element(name, value ? "true" : "false") }
        return S3XML.document("PublicAccessBlockConfiguration",
                              flag("BlockPublicAcls", blockPublicAcls) + flag("IgnorePublicAcls", ignorePublicAcls)
                                  + flag("BlockPublicPolicy", blockPublicPolicy) + flag("RestrictPublicBuckets", restrictPublicBuckets))
    }
}

/// One lifecycle rule (`<Rule>` of a `LifecycleConfiguration`), with the actions Hoist uses.
///
/// A rule read from an endpoint keeps its XML (``rawXML``): written back, it is sent exactly as it was
/// read, so actions and filters this type does not model (transitions, tags, sizes) are not lost.
public struct S3LifecycleRule: Sendable, Hashable {
    /// `ID`.
    public var id: String?
    /// `Status` is `Enabled`.
    public var enabled: Bool
    /// The key prefix the rule applies to (`Filter/Prefix`, or the legacy `Prefix`); `""` is every key.
    /// `nil` when the filter is more than a prefix (tags, sizes, `And`).
    public var prefix: String?
    /// `Expiration/Days`.
    public var expirationDays: Int?
    /// `AbortIncompleteMultipartUpload/DaysAfterInitiation`.
    public var abortIncompleteMultipartUploadDays: Int?
    /// `NoncurrentVersionExpiration/NoncurrentDays`.
    public var noncurrentVersionExpirationDays: Int?
    /// The rule as read, sent again unchanged when the configuration is written back.
    public var rawXML: String?

    /// Creates a rule.
    public init(id: String? = nil, enabled: Bool = true, prefix: String? = "", expirationDays: Int? = nil,
                abortIncompleteMultipartUploadDays: Int? = nil, noncurrentVersionExpirationDays: Int? = nil) {
        self.id = id
        self.enabled = enabled
        self.prefix = prefix
        self.expirationDays = expirationDays
        self.abortIncompleteMultipartUploadDays = abortIncompleteMultipartUploadDays
        self.noncurrentVersionExpirationDays = noncurrentVersionExpirationDays
    }

    static func parse(_ xml: String) -> [S3LifecycleRule] {
        S3XML.elements(named: "Rule", in: xml).map { rule in
            var parsed = S3LifecycleRule(id: S3XML.text(of: "ID", in: rule),
                                         enabled: S3XML.text(of: "Status", in: rule) == "Enabled")
            if let filter = S3XML.elements(named: "Filter", in: rule).first {
                let isPrefixOnly = S3XML.elements(named: "And", in: filter).isEmpty
                    && S3XML.elements(named: "Tag", in: filter).isEmpty
                    && S3XML.elements(named: "ObjectSizeGreaterThan", in: filter).isEmpty
                    && S3XML.elements(named: "ObjectSizeLessThan", in: filter).isEmpty
                parsed.prefix = isPrefixOnly ? (S3XML.elements(named: "Prefix", in: filter).first.map { S3XML.decodeEntities($0) } ?? "") : nil
            } else {
                parsed.prefix = S3XML.elements(named: "Prefix", in: rule).first.map { S3XML.decodeEntities($0) } ?? ""
            }
            let expiration = S3XML.elements(named: "Expiration", in: rule).first
            parsed.expirationDays = expiration.flatMap { S3XML.text(of: "Days", in: $0) }.flatMap { Int($0) }
            parsed.abortIncompleteMultipartUploadDays = S3XML.elements(named: "AbortIncompleteMultipartUpload", in: rule).first
                .flatMap { S3XML.text(of: "DaysAfterInitiation", in: $0) }.flatMap { Int($0) }
            parsed.noncurrentVersionExpirationDays = S3XML.elements(named: "NoncurrentVersionExpiration", in: rule).first
                .flatMap { S3XML.text(of: "NoncurrentDays", in: $0) }.flatMap { Int($0) }
            parsed.rawXML = "<Rule>\(rule)</Rule>"
            return parsed
        }
    }

    var xml: String {
        if let rawXML { return rawXML }
        var x = "<Rule>"
        if let id { x += S3XML.element("ID", id) }
        x += "<Filter>\(S3XML.element("Prefix", prefix ?? ""))</Filter>"
        x += S3XML.element("Status", enabled ? "Enabled" : "Disabled")
        if let days = expirationDays { x += "<Expiration>\(S3XML.element("Days", String(days)))</Expiration>" }
        if let days = noncurrentVersionExpirationDays {
            x += "<NoncurrentVersionExpiration>\(S3XML.element("NoncurrentDays", String(days)))</NoncurrentVersionExpiration>"
        }
        if let days = abortIncompleteMultipartUploadDays {
            x += "<AbortIncompleteMultipartUpload>\(S3XML.element("DaysAfterInitiation", String(days)))</AbortIncompleteMultipartUpload>"
        }
        return x + "</Rule>"
    }

    static func render(_ rules: [S3LifecycleRule]) -> String {
        S3XML.document("LifecycleConfiguration", rules.map(\.xml).joined())
    }
}

/// A bucket's event notifications: its queue destinations, and any other destinations kept as read.
public struct S3NotificationConfiguration: Sendable, Hashable {
    /// One `QueueConfiguration`.
    public struct Queue: Sendable, Hashable {
        /// `Id`.
        public var id: String?
        /// `Queue`: the SQS queue's ARN.
        public var queueArn: String
        /// `Event`s, e.g. `s3:ObjectCreated:*`.
        public var events: [String]
        /// The `prefix` filter rule, if any.
        public var prefix: String?
        /// The `suffix` filter rule, if any.
        public var suffix: String?

        /// Creates a queue destination.
        public init(id: String? = nil, queueArn: String, events: [String], prefix: String? = nil, suffix: String? = nil) {
            self.id = id
            self.queueArn = queueArn
            self.events = events
            self.prefix = prefix
            self.suffix = suffix
        }
    }

    /// Queue destinations.
    public var queues: [Queue]
    /// Topic, Lambda and EventBridge destinations, as read (written back unchanged).
    public var otherXML: [String]
    /// Event names of the other destinations with their prefix filters (`nil`: every key).
    public var otherDestinations: [(events: [String], prefix: String?)] {
        otherXML.map { xml in
            let x = Substring(xml)
            let prefix = S3XML.elements(named: "FilterRule", in: x).first { S3XML.text(of: "Name", in: $0)?.lowercased() == "prefix" }
                .flatMap { S3XML.text(of: "Value", in: $0) }
            return (S3XML.texts(of: "Event", in: x), prefix)
        }
    }

    /// Creates a configuration.
    public init(queues: [Queue] = [], otherXML: [String] = []) {
        self.queues = queues
        self.otherXML = otherXML
    }

    public static func == (a: Self, b: Self) -> Bool { a.queues == b.queues && a.otherXML == b.otherXML }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(queues)
        hasher.combine(otherXML)
    }

    static func parse(_ xml: String) -> S3NotificationConfiguration {
        let queues = S3XML.elements(named: "QueueConfiguration", in: xml).compactMap { q -> Queue? in
            guard let arn = S3XML.text(of: "Queue", in: q) else { return nil }
            var queue = Queue(id: S3XML.text(of: "Id", in: q), queueArn: arn, events: S3XML.texts(of: "Event", in: q))
            for rule in S3XML.elements(named: "FilterRule", in: q) {
                let value = S3XML.elements(named: "Value", in: rule).first.map { S3XML.decodeEntities($0) } ?? ""
                switch S3XML.text(of: "Name", in: rule)?.lowercased() {
                case "prefix": queue.prefix = value
                case "suffix": queue.suffix = value
                default: break
                }
            }
            return queue
        }
        var others: [String] = []
        for name in ["TopicConfiguration", "CloudFunctionConfiguration", "LambdaFunctionConfiguration"] {
            others += S3XML.elements(named: name, in: xml).map { "<\(name)>\($0)</\(name)>" }
        }
        if xml.contains("<EventBridgeConfiguration") { others.append("<EventBridgeConfiguration></EventBridgeConfiguration>") }
        return S3NotificationConfiguration(queues: queues, otherXML: others)
    }

    var xml: String {
        let queues = self.queues.map { q in
            var x = "<QueueConfiguration>"
            if let id = q.id { x += S3XML.element("Id", id) }
            x += S3XML.element("Queue", q.queueArn)
            x += q.events.map { S3XML.element("Event", $0) }.joined()
            var rules = ""
            if let prefix = q.prefix { rules += "<FilterRule>\(S3XML.element("Name", "prefix"))\(S3XML.element("Value", prefix))</FilterRule>" }
            if let suffix = q.suffix { rules += "<FilterRule>\(S3XML.element("Name", "suffix"))\(S3XML.element("Value", suffix))</FilterRule>" }
            if !rules.isEmpty { x += "<Filter><S3Key>\(rules)</S3Key></Filter>" }
            return x + "</QueueConfiguration>"
        }
        return S3XML.document("NotificationConfiguration", queues.joined() + otherXML.joined())
    }
}
