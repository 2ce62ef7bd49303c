import Foundation

/// A bucket policy of the one shape the store evaluates: who may read objects anonymously.
///
/// S3's policy language is large; this store takes the part that serves public images without a
/// CDN and refuses the rest with `MalformedPolicy` rather than ignore it:
///
/// ```json
/// {"Version": "2012-10-17",
///  "Statement": [
///    {"Sid": "PublicThumbnails", "Effect": "Allow", "Principal": "*",
///     "Action": "s3:GetObject", "Resource": "arn:aws:s3:::photos/public/*"},
///    {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["s3:GetObject"],
///     "Resource": ["arn:aws:s3:::photos/public/drafts/*"],
///     "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
/// ```
///
/// - `Principal` is `*` (or `{"AWS": "*"}`): everyone, signed or not.
/// - `Action` is `s3:GetObject` (GET and HEAD of an object's latest version).
/// - `Resource` is this bucket's objects, `arn:aws:s3:::BUCKET/KEY`, where `*` in the key matches
///   any run of characters and `?` one character.
/// - `Condition` may only be `Bool` (or `BoolIfExists`) of `aws:SecureTransport`.
///
/// A request is allowed when an `Allow` statement matches and no `Deny` does; a `Deny` wins.
package struct BucketPolicy: Sendable, Equatable {
    struct Statement: Sendable, Equatable {
        var allow: Bool
        /// Object key patterns (the part of each resource ARN after `BUCKET/`).
        var keyPatterns: [String]
        /// `aws:SecureTransport` must have this value for the statement to apply; `nil`: no condition.
        var secureTransport: Bool?
    }

    var statements: [Statement]

    /// The most bytes a policy may have (S3's limit).
    static let maximumSize = 20 * 1024

    /// Reads and checks a policy document for `bucket`.
    ///
    /// - Throws: ``S3Error`` `MalformedPolicy` saying what cannot be evaluated.
    package init(json data: Data, bucket: String, resource: String) throws {
        func malformed(_ message: String) -> S3Error { S3Error(.malformedPolicy, message, resource: resource) }
        guard data.count <= Self.maximumSize else { throw malformed("Policies must be no more than 20 KB.") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw malformed("Policies must be valid JSON and the first byte must be '{'")
        }
        for field in root.keys where !["Version", "Id", "Statement"].contains(field) {
            throw malformed("Unknown field \(field)")
        }
        if let version = root["Version"] {
            guard let text = version as? String, ["2012-10-17", "2008-10-17"].contains(text) else {
                throw malformed("The policy must contain a valid version string")
            }
        }
        let listed: [Any]
        switch root["Statement"] {
        case let array as [Any]: listed = array
        case let one as [String: Any]: listed = [one]
        default: throw malformed("Missing required field Statement")
        }
        guard !listed.isEmpty else { throw malformed("Missing required field Statement") }
        statements = try listed.map { item in
            guard let statement = item as? [String: Any] else { throw malformed("Statement must be an object") }
            return try Self.statement(statement, bucket: bucket, malformed: malformed)
        }
    }

    private static func statement(_ s: [String: Any], bucket: String, malformed: (String) -> S3Error) throws -> Statement {
        for field in s.keys where !["Sid", "Effect", "Principal", "Action", "Resource", "Condition"].contains(field) {
            throw malformed(field == "NotAction" || field == "NotResource" || field == "NotPrincipal"
                            ? "\(field) is not supported by this store; list what the statement covers instead"
                            : "Unknown field \(field)")
        }
        let allow: Bool
        switch s["Effect"] as? String {
        case "Allow": allow = true
        case "Deny": allow = false
        default: throw malformed("Invalid effect: the Effect must be Allow or Deny")
        }
        let principal = s["Principal"]
        let everyone: Bool
        switch principal {
        case let text as String: everyone = text == "*"
        case let map as [String: Any]:
            let aws = map["AWS"]
            everyone = map.count == 1 && ((aws as? String) == "*" || (aws as? [Any]).map { $0.count == 1 && ($0.first as? String) == "*" } == true)
        default: everyone = false
        }
        guard everyone else {
            throw malformed("Invalid principal in policy: this store evaluates only Principal \"*\" (everyone)")
        }
        let actions = try strings(s["Action"], field: "Action", malformed: malformed)
        for action in actions where action.lowercased() != "s3:getobject" {
            throw malformed("Policy has invalid action: \(action) (this store evaluates only s3:GetObject)")
        }
        let resources = try strings(s["Resource"], field: "Resource", malformed: malformed)
        let prefix = "arn:aws:s3:::\(bucket)/"
        let patterns = try resources.map { resource in
            guard resource.hasPrefix(prefix), resource.count > prefix.count else {
                throw malformed("Policy has invalid resource: \(resource) (objects of this bucket: \(prefix)KEY)")
            }
            return String(resource.dropFirst(prefix.count))
        }
        var secure: Bool?
        if let condition = s["Condition"] {
            guard let map = condition as? [String: Any], map.count == 1, let operation = map.first,
                  operation.key == "Bool" || operation.key == "BoolIfExists", let keys = operation.value as? [String: Any],
                  keys.count == 1, let entry = keys.first, entry.key.lowercased() == "aws:securetransport" else {
                throw malformed("Unsupported condition: this store evaluates only {\"Bool\": {\"aws:SecureTransport\": \"true\"|\"false\"}}")
            }
            let flag = entry.value
            let text = (flag as? String) ?? ((flag as? [Any])?.count == 1 ? (flag as? [Any])?.first as? String : nil)
            switch text?.lowercased() {
            case "true": secure = true
            case "false": secure = false
            default: throw malformed("Invalid Condition value for aws:SecureTransport: \"true\" or \"false\"")
            }
        }
        return Statement(allow: allow, keyPatterns: patterns, secureTransport: secure)
    }

    private static func strings(_ value: Any?, field: String, malformed: (String) -> S3Error) throws -> [String] {
        switch value {
        case let text as String: return [text]
        case let array as [Any] where !array.isEmpty:
            return try array.map { item in
                guard let text = item as? String else { throw malformed("\(field) must be a string or a list of strings") }
                return text
            }
        default: throw malformed("Missing required field \(field)")
        }
    }

    /// Whether the policy grants (and does not deny) `s3:GetObject` of `key` to everyone.
    package func allowsPublicRead(of key: String, secureTransport: Bool) -> Bool {
        var allowed = false
        for statement in statements where statement.secureTransport.map({ $0 == secureTransport }) ?? true {
            guard statement.keyPatterns.contains(where: { Self.matches(pattern: $0, key: key) }) else { continue }
            if !statement.allow { return false }
            allowed = true
        }
        return allowed
    }

    /// Whether an `Allow` statement grants anything to everyone (what Block Public Access calls a public policy).
    package var isPublic: Bool { statements.contains { $0.allow } }

    /// IAM-style wildcard matching over Unicode scalars: `*` any run, `?` one character; linear space,
    /// at most pattern × key steps.
    package static func matches(pattern: String, key: String) -> Bool {
        let p = Array(pattern.unicodeScalars), k = Array(key.unicodeScalars)
        var pi = 0, ki = 0
        var star = -1, mark = 0
        while ki < k.count {
            if pi < p.count, p[pi] == "?" || p[pi] == k[ki] {
                pi += 1
                ki += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                mark = ki
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ki = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}

/// Block Public Access of a bucket (`PutPublicAccessBlock`), as S3 applies it to policies.
struct PublicAccessBlock: Sendable, Equatable, Codable {
    var blockPublicAcls = false
    var ignorePublicAcls = false
    /// A `PutBucketPolicy` of a public policy is refused (403).
    var blockPublicPolicy = false
    /// A public policy grants nothing to anonymous requests.
    var restrictPublicBuckets = false

    static let fields = ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"]

    init() {}

    /// Reads a `PublicAccessBlockConfiguration` document.
    ///
    /// - Throws: ``S3Error`` `MalformedXML`.
    init(xml data: Data, resource: String) throws {
        let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.", resource: resource)
        let root = try XMLTree.parse(data)
        guard root.name == "PublicAccessBlockConfiguration" else { throw malformed }
        func flag(_ name: String) throws -> Bool {
            guard let element = root.child(name) else { return false }
            switch element.text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() {
            case "true": return true
            case "false": return false
            default: throw malformed
            }
        }
        for child in root.children where !Self.fields.contains(child.name) { throw malformed }
        blockPublicAcls = try flag("BlockPublicAcls")
        ignorePublicAcls = try flag("IgnorePublicAcls")
        blockPublicPolicy = try flag("BlockPublicPolicy")
        restrictPublicBuckets = try flag("RestrictPublicBuckets")
    }

    var xml: String {
        var x = XMLWriter()
        x.element("PublicAccessBlockConfiguration", namespace: true) { x in
            x.leaf("BlockPublicAcls", blockPublicAcls ? "true" : "false")
            x.leaf("IgnorePublicAcls", ignorePublicAcls ? "true" : "false")
            x.leaf("BlockPublicPolicy", blockPublicPolicy ? "true" : "false")
            x.leaf("RestrictPublicBuckets", restrictPublicBuckets ? "true" : "false")
        }
        return x.document
    }
}
