import Foundation

/// Where a container's role credentials are served, as the AWS SDKs find it:
/// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS: `http://169.254.170.2` + the URI), else
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https anywhere; plain http only to a loopback address or
/// the ECS/EKS agents' link-local addresses), with the `Authorization` header from
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN` or, read at every fetch, the file named by
/// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (EKS Pod Identity rotates it).
///
/// ```swift
/// if let endpoint = try ContainerCredentialsEndpoint(environment: ProcessInfo.processInfo.environment) {
///     let provider = ContainerCredentialProvider(endpoint: endpoint)
/// }
/// ```
public struct ContainerCredentialsEndpoint: Sendable, Equatable {
    /// How the `Authorization` header is found.
    public enum Authorization: Sendable, Equatable {
        /// A fixed token (`AWS_CONTAINER_AUTHORIZATION_TOKEN`).
        case token(String)
        /// A file whose contents are the token, read at every fetch (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`).
        case file(String)
    }

    /// The ECS agent's credentials host, for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
    public static let ecsHost = "169.254.170.2"
    /// Hosts plain http may reach besides loopback addresses: the ECS agent and EKS Pod Identity's agent.
    static let agentHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23"]

    /// The URL credentials are fetched from.
    public let url: String
    /// The `Authorization` header's source, if any.
    public let authorization: Authorization?

    /// Creates an endpoint for `url`, after the same checks as the environment's URL.
    /// - Throws: ``CredentialError`` for a URL that is not https nor http to a loopback or agent host.
    public init(url: String, authorization: Authorization? = nil) throws {
        try Self.check(url, variable: "The container credentials URL")
        self.url = url
        self.authorization = authorization
    }

    /// Reads the container credentials variables.
    /// - Parameter environment: the variables to read.
    /// - Returns: `nil` when neither `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` nor `…_FULL_URI` is set.
    /// - Throws: ``CredentialError`` when a URL is refused or a token is unusable.
    public init?(environment: [String: String]) throws {
        func value(_ name: String) -> String? {
            guard let v = environment[name]?.trimmingCharacters(in: .whitespaces), !v.isEmpty else { return nil }
            return v
        }
        let url: String
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = "http://\(Self.ecsHost)" + (relative.hasPrefix("/") ? relative : "/" + relative)
            try Self.check(url, variable: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        } else if let full = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            try Self.check(full, variable: "AWS_CONTAINER_CREDENTIALS_FULL_URI")
            url = full
        } else {
            return nil
        }
        var authorization: Authorization?
        if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty {
            guard Self.isHeaderValue(token) else {
                throw CredentialError("AWS_CONTAINER_AUTHORIZATION_TOKEN contains a line break or a control character.")
            }
            authorization = .token(token)
        } else if let file = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            authorization = .file(file)
        }
        self.url = url
        self.authorization = authorization
    }

    /// Whether `token` can be sent as a header value: no control characters (CR and LF above all).
    static func isHeaderValue(_ token: String) -> Bool {
        !token.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
    }

    /// Refuses a URL the SDKs refuse: only https, or http to a loopback address or an agent's host.
    static func check(_ url: String, variable: String) throws {
        func refuse(_ why: String) -> CredentialError {
            CredentialError("\(variable) is refused (\(url)): \(why)")
        }
        guard let schemeEnd = url.range(of: "://") else { throw refuse("it is not an http(s) URL.") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw refuse("only http and https are allowed.") }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest[..<(rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex)]
        guard !authority.isEmpty, !authority.contains("@"),
              authority.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
              url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw refuse("it has no usable host.")
        }
        guard let host = Self.host(of: authority) else { throw refuse("it has no usable host.") }
        if scheme == "https" { return }
        guard Self.isLoopback(host) || Self.agentHosts.contains(host) else {
            throw refuse("plain http is allowed only to a loopback address (127.0.0.0/8, ::1, localhost) "
                         + "or the ECS/EKS agent (169.254.170.2, 169.254.170.23, fd00:ec2::23); use https for '\(host)'.")
        }
    }

    /// The lowercased host of `host[:port]` or `[v6]:port`; `nil` when malformed.
    static func host(of authority: Substring) -> String? {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || (after.hasPrefix(":") && isPort(after.dropFirst())) else { return nil }
            let host = authority[authority.index(after: authority.startIndex)..<close].lowercased()
            return host.isEmpty ? nil : host
        }
        let parts = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else { return nil }
        if parts.count == 2, !isPort(parts[1]) { return nil }
        return first.lowercased()
    }

    static func isPort(_ text: Substring) -> Bool {
        !text.isEmpty && text.count <= 5 && text.allSatisfy(\.isASCII) && text.allSatisfy(\.isNumber) && (Int(text) ?? 70_000) <= 65_535
    }

    /// `localhost`, `::1`, or a dotted-quad IPv4 address in 127.0.0.0/8.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        var values: [Int] = []
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(octet), v <= 255 else {
                return false
            }
            values.append(v)
        }
        return values.first == 127
    }
}

extension ContainerCredentialsEndpoint: CustomStringConvertible {
    /// The URL and where the token comes from; never the token itself.
    public var description: String {
        switch authorization {
        case .none: "\(url)"
        case .token: "\(url) (Authorization from AWS_CONTAINER_AUTHORIZATION_TOKEN)"
        case .file(let path): "\(url) (Authorization from \(path))"
        }
    }
}
