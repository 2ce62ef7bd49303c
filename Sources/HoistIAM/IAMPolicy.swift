import HoistSupport

/// An IAM policy document of Allow statements (the shape of Hoist's task roles), written as JSON
/// with the keys in the order people read them: `Version`, `Statement`, then `Sid`, `Effect`,
/// `Action`, `Resource`.
///
/// ```swift
/// let policy = IAMPolicy(statements: [IAMStatement(sid: "Read", actions: ["s3:GetObject"], resources: ["arn:aws:s3:::b/*"])])
/// print(policy.json)
/// ```
public struct IAMPolicy: Sendable, Equatable {
    /// The policy language version every current policy uses.
    public static let version = "2012-10-17"

    /// The statements, in order.
    public var statements: [IAMStatement]

    /// Creates a policy.
    public init(statements: [IAMStatement]) {
        self.statements = statements
    }

    /// The policy as pretty-printed JSON (two-space indents, a final newline). A one-element action
    /// or resource list is written as a string, as the CloudFormation template writes it.
    public var json: String {
        var out = "{\n  \"Version\": \"\(Self.version)\",\n  \"Statement\": ["
        for (i, statement) in statements.enumerated() {
            out += i == 0 ? "\n" : ",\n"
            out += "    {\n      \"Sid\": "
            JSONText.appendQuoted(statement.sid, to: &out)
            out += ",\n      \"Effect\": \"Allow\",\n      \"Action\": "
            Self.appendStringOrList(statement.actions, to: &out)
            out += ",\n      \"Resource\": "
            Self.appendStringOrList(statement.resources, to: &out)
            out += "\n    }"
        }
        out += statements.isEmpty ? "]\n}\n" : "\n  ]\n}\n"
        return out
    }

    static func appendStringOrList(_ values: [String], to out: inout String) {
        if values.count == 1 {
            JSONText.appendQuoted(values[0], to: &out)
            return
        }
        out += "["
        for (i, value) in values.enumerated() {
            if i > 0 { out += ", " }
            JSONText.appendQuoted(value, to: &out)
        }
        out += "]"
    }
}

/// One Allow statement: actions on resources.
public struct IAMStatement: Sendable, Equatable {
    /// The statement's id, unique in its policy.
    public var sid: String
    /// Exact action names, e.g. `s3:PutObject`.
    public var actions: [String]
    /// Resource ARNs; `*` matches any characters, `/` included.
    public var resources: [String]

    /// Creates an Allow statement.
    public init(sid: String, actions: [String], resources: [String]) {
        self.sid = sid
        self.actions = actions
        self.resources = resources
    }
}
