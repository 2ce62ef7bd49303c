import SigV4

/// Where an S3 service is and how buckets are addressed on it.
///
/// ```swift
/// let endpoint = try S3Endpoint(url: "http://127.0.0.1:9000")          // path-style
/// let aws = S3Endpoint.aws(region: "eu-west-1")                         // virtual-hosted
/// let (host, path) = endpoint.location(bucket: "b", key: "photos/a b.png")
/// ```
public struct S3Endpoint: Sendable, Hashable {
    /// How the bucket appears in a request.
    public enum Addressing: String, Sendable, CaseIterable {
        /// `https://host/bucket/key`.
        case path
        /// `https://bucket.host/key`.
        case virtual
    }

    /// `http` or `https`.
    public var scheme: String
    /// The host, with the port when it is not the scheme's default.
    public var host: String
    /// How buckets are addressed.
    public var addressing: Addressing

    /// Creates an endpoint from its parts.
    public init(scheme: String, host: String, addressing: Addressing) {
        self.scheme = scheme
        self.host = host
        self.addressing = addressing
    }

    /// Parses `scheme://host[:port]` (a trailing `/` is allowed; nothing else may follow).
    /// - Throws: ``EndpointError`` for anything else.
    public init(url: String, addressing: Addressing = .path) throws {
        guard let schemeEnd = url.range(of: "://") else {
            throw EndpointError("The endpoint '\(url)' needs a scheme, e.g. http://127.0.0.1:9000.")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else {
            throw EndpointError("The endpoint '\(url)' must use http or https.")
        }
        var rest = url[schemeEnd.upperBound...]
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("?"), !rest.contains("@") else {
            throw EndpointError("The endpoint '\(url)' must be only scheme://host[:port].")
        }
        var host = rest.lowercased()
        let defaultPort = scheme == "https" ? ":443" : ":80"
        if host.hasSuffix(defaultPort) { host = String(host.dropLast(defaultPort.count)) }
        self.init(scheme: scheme, host: host, addressing: addressing)
    }

    /// AWS S3's endpoint for a region, virtual-hosted.
    public static func aws(region: String) -> S3Endpoint {
        S3Endpoint(scheme: "https", host: region == "us-east-1" ? "s3.amazonaws.com" : "s3.\(region).amazonaws.com",
                   addressing: .virtual)
    }

    /// The `Host` and decoded path of an object (or of the bucket when `key` is empty).
    public func location(bucket: String, key: String) -> (host: String, path: String) {
        switch addressing {
        case .path:
            return (host, key.isEmpty ? "/\(bucket)" : "/\(bucket)/\(key)")
        case .virtual:
            return ("\(bucket).\(host)", "/\(key)")
        }
    }
}

/// An endpoint URL that cannot be used.
public struct EndpointError: Error, CustomStringConvertible, Sendable {
    /// What is wrong with it.
    public let description: String
    init(_ description: String) { self.description = description }
}
