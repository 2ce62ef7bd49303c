import Foundation
import HoistSupport

/// A browser POST policy: an expiration and the conditions a form upload must meet.
///
/// ```swift
/// let policy = PostPolicy(expiration: .now + 300, conditions: [
///     .eq("bucket", "article-images"),
///     .startsWith("key", "articles/42/raw/"),
///     .eq("Content-Type", "image/png"),
///     .contentLengthRange(1, 10 << 20),
/// ])
/// ```
public struct PostPolicy: Sendable, Equatable {
    /// One condition of the policy.
    public enum Condition: Sendable, Equatable {
        /// The field must equal the value exactly (field names are case-insensitive, without `$`).
        case eq(String, String)
        /// The field must start with the prefix (`""` allows any value).
        case startsWith(String, String)
        /// The uploaded file's size in bytes must be within the range.
        case contentLengthRange(Int, Int)

        /// The field this condition is about, lowercased; `nil` for `content-length-range`.
        public var field: String? {
            switch self {
            case let .eq(f, _), let .startsWith(f, _):
                let name = f.hasPrefix("$") ? String(f.dropFirst()) : f
                return name.lowercased()
            case .contentLengthRange:
                return nil
            }
        }
    }

    /// When the policy stops being accepted.
    public var expiration: Date
    /// The conditions, in document order.
    public var conditions: [Condition]

    /// Creates a policy.
    public init(expiration: Date, conditions: [Condition]) {
        self.expiration = expiration
        self.conditions = conditions
    }

    /// The size range from a `content-length-range` condition, if any.
    public var contentLengthRange: ClosedRange<Int>? {
        for case let .contentLengthRange(low, high) in conditions where low <= high { return low...high }
        return nil
    }

    /// The policy as the JSON document S3 reads.
    public var jsonDocument: String {
        var out = "{\"expiration\":\"\(Self.expirationString(expiration))\",\"conditions\":["
        for (i, c) in conditions.enumerated() {
            if i > 0 { out += "," }
            switch c {
            case let .eq(field, value):
                out += "[\"eq\",\(JSONText.quoted("$" + field.trimmingDollar)),\(JSONText.quoted(value))]"
            case let .startsWith(field, value):
                out += "[\"starts-with\",\(JSONText.quoted("$" + field.trimmingDollar)),\(JSONText.quoted(value))]"
            case let .contentLengthRange(low, high):
                out += "[\"content-length-range\",\(low),\(high)]"
            }
        }
        return out + "]}"
    }

    /// `yyyy-MM-dd'T'HH:mm:ss.000Z`, the expiration's text form.
    static func expirationString(_ date: Date) -> String {
        var text = AMZDate(date).iso8601String
        text.removeLast()
        return text + ".000Z"
    }

    /// Parses a policy document (the JSON after base64 decoding).
    /// - Throws: ``SigV4Error`` `InvalidPolicyDocument` when it is not a valid policy.
    public init(jsonDocument data: Data) throws(SigV4Error) {
        func invalid(_ why: String) -> SigV4Error { SigV4Error(.invalidPolicyDocument, "Invalid Policy: \(why)") }
        guard let object = try? JSONSerialization.jsonObject(with: data), let root = object as? [String: Any] else {
            throw invalid("the document is not a JSON object.")
        }
        guard let expirationText = root["expiration"] as? String else {
            throw invalid("Policy missing expiration.")
        }
        guard let expiration = AMZDate(iso8601: expirationText) else {
            throw invalid("Invalid 'expiration' value: '\(expirationText)'.")
        }
        guard let list = root["conditions"] as? [Any] else {
            throw invalid("Policy missing conditions.")
        }
        var conditions: [Condition] = []
        for item in list {
            if let object = item as? [String: Any] {
                guard object.count == 1, let (field, raw) = object.first, let value = raw as? String else {
                    throw invalid("Each condition object must have exactly one field with a string value.")
                }
                conditions.append(.eq(field, value))
            } else if let array = item as? [Any], let op = (array.first as? String)?.lowercased() {
                switch op {
                case "eq", "starts-with":
                    guard array.count == 3, let field = array[1] as? String, field.hasPrefix("$"), let value = array[2] as? String else {
                        throw invalid("Condition '\(op)' needs a \"$field\" and a string value.")
                    }
                    let name = String(field.dropFirst())
                    conditions.append(op == "eq" ? .eq(name, value) : .startsWith(name, value))
                case "content-length-range":
                    guard array.count == 3, let low = Self.integer(array[1]), let high = Self.integer(array[2]), low >= 0, low <= high else {
                        throw invalid("content-length-range needs two non-negative integers, the lower first.")
                    }
                    conditions.append(.contentLengthRange(low, high))
                default:
                    throw invalid("Unknown condition '\(op)'.")
                }
            } else {
                throw invalid("A condition must be an object or an array.")
            }
        }
        self.init(expiration: expiration.date, conditions: conditions)
    }

    private static func integer(_ value: Any) -> Int? {
        if let n = value as? Int { return n }
        if let s = value as? String { return Int(s) }
        if let d = value as? Double, d == d.rounded(), abs(d) < 9e15 { return Int(d) }
        return nil
    }
}

extension String {
    var trimmingDollar: String { hasPrefix("$") ? String(dropFirst()) : self }
}

