import Foundation

/// A bucket's CORS rules (PutBucketCors), and how a request is matched against them.
public struct CORSConfiguration: Sendable, Hashable, Codable {
    /// One `<CORSRule>`.
    public struct Rule: Sendable, Hashable, Codable {
        public var id: String?
        public var allowedOrigins: [String]
        public var allowedMethods: [String]
        public var allowedHeaders: [String]
        public var exposeHeaders: [String]
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

        /// Whether `origin` matches one of the allowed origins (each may hold one `*`).
        func allows(origin: String) -> Bool {
            allowedOrigins.contains { CORSConfiguration.wildcardMatch(pattern: $0, origin, caseInsensitive: false) }
        }

        /// Whether every requested header matches an allowed header (case-insensitive, `*` wildcards).
        func allows(headers: [String]) -> Bool {
            headers.allSatisfy { header in
                allowedHeaders.contains { CORSConfiguration.wildcardMatch(pattern: $0, header, caseInsensitive: true) }
            }
        }
    }

    /// The rules, in order: the first that matches applies.
    public var rules: [Rule]

    /// Creates a configuration.
    public init(rules: [Rule]) { self.rules = rules }

    static let methods: Set<String> = ["GET", "PUT", "POST", "DELETE", "HEAD"]

    /// The first rule allowing `origin`, `method` and all of `headers`.
    public func rule(origin: String, method: String, headers: [String] = []) -> Rule? {
        rules.first { $0.allows(origin: origin) && $0.allowedMethods.contains(method) && $0.allows(headers: headers) }
    }

    /// Matches `text` against `pattern`, where the pattern may contain `*` (any run of characters).
    static func wildcardMatch(pattern: String, _ text: String, caseInsensitive: Bool) -> Bool {
        let p = Array((caseInsensitive ? pattern.lowercased() : pattern).utf8)
        let t = Array((caseInsensitive ? text.lowercased() : text).utf8)
        // Iterative glob matching with backtracking to the last '*'.
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count && p[pi] == UInt8(ascii: "*") {
                star = pi; mark = ti; pi += 1
            } else if pi < p.count && p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Parses a `<CORSConfiguration>` document, validating it as S3 does.
    /// - Throws: ``S3Error`` `MalformedXML` or `InvalidRequest`.
    public init(xml data: Data) throws {
        let root = try XMLTree.parse(data)
        guard root.name == "CORSConfiguration" else {
            throw S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
        }
        var rules: [Rule] = []
        for node in root.children where node.name == "CORSRule" {
            var maxAge: Int?
            if let text = node.child("MaxAgeSeconds")?.text {
                guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= 0 else {
                    throw S3Error(.malformedXML, "MaxAgeSeconds must be a non-negative integer.")
                }
                maxAge = value
            }
            let rule = Rule(
                id: node.child("ID")?.text,
                allowedOrigins: node.children(named: "AllowedOrigin").map(\.text),
                allowedMethods: node.children(named: "AllowedMethod").map(\.text),
                allowedHeaders: node.children(named: "AllowedHeader").map(\.text),
                exposeHeaders: node.children(named: "ExposeHeader").map(\.text),
                maxAgeSeconds: maxAge
            )
            guard !rule.allowedOrigins.isEmpty, !rule.allowedMethods.isEmpty else {
                throw S3Error(.malformedXML, "Each CORSRule needs at least one AllowedOrigin and one AllowedMethod.")
            }
            for method in rule.allowedMethods where !Self.methods.contains(method) {
                throw S3Error(.invalidRequest, "Found unsupported HTTP method in CORS config. Unsupported method is \(method)")
            }
            for origin in rule.allowedOrigins where origin.filter({ $0 == "*" }).count > 1 {
                throw S3Error(.invalidRequest, "AllowedOrigin \"\(origin)\" can not have more than one wildcard.")
            }
            for header in rule.allowedHeaders where header.filter({ $0 == "*" }).count > 1 {
                throw S3Error(.invalidRequest, "AllowedHeader \"\(header)\" can not have more than one wildcard.")
            }
            rules.append(rule)
        }
        guard !rules.isEmpty else {
            throw S3Error(.malformedXML, "The CORS configuration must have at least one CORSRule.")
        }
        guard rules.count <= 100 else {
            throw S3Error(.malformedXML, "The CORS configuration can have at most 100 rules.")
        }
        self.rules = rules
    }

    /// The configuration as S3's XML.
    var xml: String {
        var x = XMLWriter()
        x.element("CORSConfiguration", namespace: true) { x in
            for rule in rules {
                x.element("CORSRule") { x in
                    if let id = rule.id { x.leaf("ID", id) }
                    for v in rule.allowedHeaders { x.leaf("AllowedHeader", v) }
                    for v in rule.allowedMethods { x.leaf("AllowedMethod", v) }
                    for v in rule.allowedOrigins { x.leaf("AllowedOrigin", v) }
                    for v in rule.exposeHeaders { x.leaf("ExposeHeader", v) }
                    if let age = rule.maxAgeSeconds { x.leaf("MaxAgeSeconds", String(age)) }
                }
            }
        }
        return x.document
    }
}
