import Foundation

/// The bucket policy statement that refuses every request made without TLS, and how to find it
/// in a policy or add it to one.
///
/// ```json
/// {"Sid":"HoistDenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",
///  "Resource":["arn:aws:s3:::my-images","arn:aws:s3:::my-images/*"],
///  "Condition":{"Bool":{"aws:SecureTransport":"false"}}}
/// ```
enum TLSPolicy {
    /// A policy that cannot be read as JSON.
    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    static func statement(bucket: String) -> [String: Any] {
        ["Sid": BucketWants.tlsStatementID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": ["arn:aws:s3:::\(bucket)", "arn:aws:s3:::\(bucket)/*"],
         "Condition": ["Bool": ["aws:SecureTransport": "false"]]]
    }

    static func strings(_ value: Any?) -> [String] {
        if let s = value as? String { return [s] }
        if let a = value as? [Any] { return a.compactMap { $0 as? String } }
        return []
    }

    static func statements(of json: String) throws -> [[String: Any]] {
        guard let data = json.data(using: .utf8),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Unreadable(description: "the bucket policy is not a JSON object")
        }
        if let one = root["Statement"] as? [String: Any] { return [one] }
        guard let list = root["Statement"] as? [Any] else { return [] }
        return list.compactMap { $0 as? [String: Any] }
    }

    /// Whether `statement` denies every non-TLS request to the bucket and its objects.
    static func deniesInsecureTransport(_ statement: [String: Any], bucket: String) -> Bool {
        guard statement["Effect"] as? String == "Deny" else { return false }
        let principal = statement["Principal"]
        let anyone = (principal as? String) == "*" || strings((principal as? [String: Any])?["AWS"]).contains("*")
        guard anyone else { return false }
        let actions = strings(statement["Action"])
        guard actions.contains("s3:*") || actions.contains("*") else { return false }
        let resources = strings(statement["Resource"])
        func covers(_ suffix: String) -> Bool {
            resources.contains { resource in
                let parts = resource.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
                guard parts.count == 6, parts[0] == "arn", parts[2] == "s3" else { return resource == "*" }
                return parts[5] == "\(bucket)\(suffix)" || (suffix == "/*" && parts[5] == "\(bucket)*") || parts[5] == "*"
            }
        }
        guard covers(""), covers("/*") else { return false }
        guard let condition = statement["Condition"] as? [String: Any], let bool = condition["Bool"] as? [String: Any] else { return false }
        let value = bool["aws:SecureTransport"]
        if let flag = value as? Bool { return flag == false }
        let texts = strings(value)
        return texts == ["false"] || (value as? NSNumber).map { $0.boolValue == false } == true
    }

    /// Whether `json` (a bucket policy) holds such a statement.
    static func isPresent(in json: String?, bucket: String) throws -> Bool {
        guard let json else { return false }
        return try statements(of: json).contains { deniesInsecureTransport($0, bucket: bucket) }
    }

    /// The policy with the statement added (a new policy when there is none).
    static func merged(_ json: String?, bucket: String) throws -> String {
        var statements = try json.map { try self.statements(of: $0) } ?? []
        statements.removeAll { ($0["Sid"] as? String) == BucketWants.tlsStatementID }
        statements.append(statement(bucket: bucket))
        let policy: [String: Any] = ["Version": "2012-10-17", "Statement": statements]
        let data = try JSONSerialization.data(withJSONObject: policy, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
