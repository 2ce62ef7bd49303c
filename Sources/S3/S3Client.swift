import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import SigV4

/// A small asynchronous S3 client: objects (head, get, download, put, copy, delete) and the
/// bucket settings Hoist manages (`S3Client+Buckets.swift`), each request signed with ``SigV4Signer`` and sent with
/// AsyncHTTPClient.
///
/// Bodies stream: ``download(bucket:key:to:)`` and ``putObject(bucket:key:file:contentType:metadata:checksumSHA256:)``
/// keep memory flat whatever the object's size. Keys are sent exactly as S3
/// expects them (``S3URIEncoding``), so spaces, `+`, `%` and Unicode work.
/// Failures S3 reports arrive as ``S3ClientError``.
///
/// ```swift
/// let s3 = S3Client(endpoint: try S3Endpoint(url: "http://127.0.0.1:9000"), region: "us-east-1",
///                   credentials: credentials)
/// let etag = try await s3.putObject(bucket: "article-images", key: "a b.png", bytes: png, contentType: "image/png")
/// let (head, first) = try await s3.getObject(bucket: "article-images", key: "a b.png", range: 0...65535, maxBytes: 65536)
/// ```
public struct S3Client: Sendable {
    /// Where the service is and how buckets are addressed.
    public let endpoint: S3Endpoint
    /// The region requests are signed for.
    public var region: String { signers.region }
    /// Time allowed for a request until the response's head arrives (the whole
    /// request body included); bodies then stream without a deadline.
    public let timeout: TimeAmount
    /// Time allowed for ``putObject(bucket:key:file:contentType:metadata:checksumSHA256:)``,
    /// whose request body is the whole file.
    public let transferTimeout: TimeAmount

    /// The signer of the provider's current credentials, taken afresh for each request.
    let signers: RotatingSigner
    let httpClient: HTTPClient
    let logger: Logger?

    /// Creates a client.
    /// - Parameters:
    ///   - endpoint: the service, e.g. `S3Endpoint.aws(region:)` or `try S3Endpoint(url: "http://127.0.0.1:9000")`.
    ///   - region: the region signatures are scoped to.
    ///   - credentials: the access key that signs; a session token is sent as `X-Amz-Security-Token`.
    ///   - httpClient: the HTTP client to send with; the process-wide one by default. The caller owns its lifetime.
    ///     S3's redirects (`301`/`307` to another region's host) cannot be followed with a signed `Host`:
    ///     a client configured with `redirectConfiguration: .disallow` reports them as they are.
    ///   - timeout: time allowed until a response's head arrives.
    ///   - transferTimeout: the same for uploads of files.
    ///   - logger: where AsyncHTTPClient logs requests (never secrets); silent when `nil`.
    public init(endpoint: S3Endpoint, region: String, credentials: SigV4Credentials, httpClient: HTTPClient = .shared,
                timeout: TimeAmount = .seconds(30), transferTimeout: TimeAmount = .hours(1), logger: Logger? = nil) {
        self.init(endpoint: endpoint, region: region, credentials: StaticCredentialProvider(credentials), httpClient: httpClient,
                  timeout: timeout, transferTimeout: transferTimeout, logger: logger)
    }

    /// Creates a client whose credentials may change over time (a container's role): each
    /// request is signed with what `credentials` gives when it starts.
    /// - Parameters:
    ///   - credentials: where the credentials come from, e.g. `try CredentialChain().provider()`.
    ///   - endpoint, region, httpClient, timeout, transferTimeout, logger: as for the initialiser with fixed credentials.
    public init(endpoint: S3Endpoint, region: String, credentials: any CredentialProvider, httpClient: HTTPClient = .shared,
                timeout: TimeAmount = .seconds(30), transferTimeout: TimeAmount = .hours(1), logger: Logger? = nil) {
        self.endpoint = endpoint
        self.signers = RotatingSigner(provider: credentials, region: region, service: "s3")
        self.httpClient = httpClient
        self.timeout = timeout
        self.transferTimeout = transferTimeout
        self.logger = logger
    }

    /// One request S3 is to answer: what is signed and what is sent.
    struct Request {
        var operation: String
        var method: HTTPMethod
        var bucket: String
        var key: String
        var query: [(String, String)] = []
        var headers: [(String, String)] = []
        var body: HTTPClientRequest.Body?
        /// The hex SHA-256 of the body, or ``PayloadHash/unsigned`` for a streamed one.
        var payloadHash: String = PayloadHash.emptySHA256
        var timeout: TimeAmount?
    }

    /// Signs and sends `request`; answers with the response when its status is 2xx.
    /// - Throws: ``S3ClientError`` built from S3's XML error body otherwise.
    func execute(_ request: Request, date: Date = Date()) async throws -> HTTPClientResponse {
        let response = try await send(request, date: date)
        guard (200..<300).contains(response.status.code) else {
            throw await error(from: response, request: request)
        }
        return response
    }

    /// The URL to send `request` to, with the `Host` and decoded path that are signed.
    func target(of request: Request) -> (url: String, host: String, path: String) {
        let (host, path) = endpoint.location(bucket: request.bucket, key: request.key)
        var url = "\(endpoint.scheme)://\(host)\(S3URIEncoding.encodePath(path))"
        if !request.query.isEmpty {
            url += "?" + request.query.map { name, value in
                S3URIEncoding.encodeQueryComponent(name) + "=" + S3URIEncoding.encodeQueryComponent(value)
            }.joined(separator: "&")
        }
        return (url, host, path)
    }

    /// The error a non-2xx response stands for: S3's `<Error>` body when there
    /// is one, else a code from the status (a `HEAD` has no body).
    func error(from response: HTTPClientResponse, request: Request) async -> S3ClientError {
        let requestId = response.headers.first(name: "x-amz-request-id")
        let text = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        return Self.error(status: Int(response.status.code), xml: text, requestId: requestId, request: request)
    }

    static func error(status: Int, xml: String, requestId: String?, request: Request) -> S3ClientError {
        if let code = S3XML.text(of: "Code", in: xml), !code.isEmpty {
            return S3ClientError(operation: request.operation, bucket: request.bucket, key: request.key, status: status,
                                 code: .init(code), message: S3XML.text(of: "Message", in: xml) ?? "",
                                 requestId: S3XML.text(of: "RequestId", in: xml) ?? requestId)
        }
        let (code, message): (S3ClientError.Code, String) = switch status {
        case 404 where request.key.isEmpty: (.noSuchBucket, "The bucket does not exist (the response had no error body).")
        case 404: (.noSuchKey, "The key does not exist (the response had no error body).")
        case 403: (.forbidden, "Access was refused (the response had no error body: a HEAD never has one).")
        case 412: (.preconditionFailed, "A condition of the request did not hold.")
        case 416: (.invalidRange, "The range is outside the object.")
        default: (S3ClientError.Code("HTTP\(status)"),
                  xml.isEmpty ? "The response had no error body." : "Unreadable error body: \(xml.prefix(200))")
        }
        return S3ClientError(operation: request.operation, bucket: request.bucket, key: request.key, status: status,
                             code: code, message: message, requestId: requestId)
    }

    /// User metadata as `x-amz-meta-*` headers; S3 takes only printable ASCII in them.
    static func metadataHeaders(_ metadata: [String: String], operation: String, bucket: String, key: String) throws -> [(String, String)] {
        try metadata.sorted(by: { $0.key < $1.key }).map { name, value in
            let printable = { (s: String) in s.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) } }
            guard !name.isEmpty, printable(name), !name.contains(":"), !name.contains(" "), printable(value) else {
                throw S3ClientError(operation: operation, bucket: bucket, key: key, status: nil, code: .invalidArgument,
                                    message: "Metadata '\(name)' must have a token name and a printable ASCII value.")
            }
            return ("x-amz-meta-\(name.lowercased())", value)
        }
    }
}
