import AsyncHTTPClient
import Crypto
import Events
import Foundation
import HoistSupport
import Logging
import NIOCore
import SigV4

/// Amazon SQS as an ``EventQueue``: the AWS JSON 1.0 protocol (`POST /` with
/// `X-Amz-Target: AmazonSQS.<Action>`), each call signed with ``SigV4Signer``
/// for the service `sqs`, sent with AsyncHTTPClient.
///
/// Works with AWS and with anything that speaks SQS's JSON protocol (moto,
/// ElasticMQ, LocalStack). Failures the service reports arrive as ``SQSError``.
///
/// ```swift
/// let queue = try SQSQueue(queueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/uploads",
///                          region: "eu-west-1", credentials: credentials)
/// for message in try await queue.receive(maxMessages: 10, wait: .seconds(20), visibilityTimeout: 60) {
///     try await handle(message.body)
///     try await queue.delete(message)
/// }
/// ```
public struct SQSQueue: EventQueue {
    /// The queue's URL, e.g. `https://sqs.us-east-1.amazonaws.com/123456789012/uploads`.
    public let queueURL: String
    /// The region calls are signed for.
    public var region: String { signers.region }
    /// Time allowed for a call beyond its long-poll wait.
    public let timeout: TimeAmount

    /// `scheme://host[:port]`: where calls are posted.
    let endpoint: String
    /// The `Host` header, signed.
    let host: String
    /// The signer of the provider's current credentials, taken afresh for each call.
    let signers: RotatingSigner
    let httpClient: HTTPClient
    let logger: Logger?

    /// Creates a client for one queue.
    /// - Parameters:
    ///   - queueURL: `http(s)://host[:port]/account/name`, as `CreateQueue` or `GetQueueUrl` give it.
    ///   - region: the region signatures are scoped to (`us-east-1` for local servers).
    ///   - credentials: the access key that signs; a session token is sent as `X-Amz-Security-Token`.
    ///   - httpClient: the HTTP client to send with; the process-wide one by default. The caller owns its lifetime.
    ///   - timeout: time allowed for each call, on top of a receive's long-poll wait.
    ///   - logger: where AsyncHTTPClient logs requests (never secrets); silent when `nil`.
    /// - Throws: ``SQSError`` with ``SQSError/Code/invalidQueueURL`` when the URL cannot be used.
    public init(queueURL: String, region: String, credentials: SigV4Credentials, httpClient: HTTPClient = .shared,
                timeout: TimeAmount = .seconds(30), logger: Logger? = nil) throws {
        try self.init(queueURL: queueURL, region: region, credentials: StaticCredentialProvider(credentials),
                      httpClient: httpClient, timeout: timeout, logger: logger)
    }

    /// Creates a client for one queue whose credentials may change over time (a container's
    /// role): each call is signed with what `credentials` gives when it starts.
    /// - Parameters:
    ///   - credentials: where the credentials come from, e.g. `try CredentialChain().provider()`.
    ///   - queueURL, region, httpClient, timeout, logger: as for the initialiser with fixed credentials.
    /// - Throws: ``SQSError`` with ``SQSError/Code/invalidQueueURL`` when the URL cannot be used.
    public init(queueURL: String, region: String, credentials: any CredentialProvider, httpClient: HTTPClient = .shared,
                timeout: TimeAmount = .seconds(30), logger: Logger? = nil) throws {
        let (scheme, host) = try Self.parse(url: queueURL, requirePath: true)
        self.queueURL = queueURL
        self.endpoint = "\(scheme)://\(host)"
        self.host = host
        self.signers = RotatingSigner(provider: credentials, region: region, service: "sqs", normalizePath: true)
        self.httpClient = httpClient
        self.timeout = timeout
        self.logger = logger
    }

    /// Creates a queue, or finds the one of that name whose attributes match (SQS CreateQueue).
    ///
    /// ```swift
    /// let dlq = try await SQSQueue.create(name: "uploads-dlq", endpoint: "http://127.0.0.1:5000",
    ///                                     region: "us-east-1", credentials: credentials)
    /// ```
    ///
    /// - Parameters:
    ///   - name: the queue's name.
    ///   - attributes: queue attributes, e.g. `VisibilityTimeout`, `RedrivePolicy` (a JSON string).
    ///   - endpoint: the service, `http(s)://host[:port]` (e.g. `https://sqs.eu-west-1.amazonaws.com`).
    ///   - region, credentials, httpClient, timeout, logger: as for ``init(queueURL:region:credentials:httpClient:timeout:logger:)``.
    /// - Returns: a client for the queue, at the URL the service gave.
    /// - Throws: ``SQSError``.
    public static func create(name: String, attributes: [String: String] = [:], endpoint: String, region: String,
                              credentials: SigV4Credentials, httpClient: HTTPClient = .shared,
                              timeout: TimeAmount = .seconds(30), logger: Logger? = nil) async throws -> SQSQueue {
        let (scheme, host) = try parse(url: endpoint, requirePath: false)
        let signers = RotatingSigner(credentials: credentials, region: region, service: "sqs", normalizePath: true)
        let call = Call(endpoint: "\(scheme)://\(host)", host: host, queue: endpoint, signers: signers,
                        httpClient: httpClient, timeout: timeout, logger: logger)
        let reply: Wire.CreateQueueResult = try await call.send(
            "CreateQueue", Wire.CreateQueue(QueueName: name, Attributes: attributes.isEmpty ? nil : attributes))
        return try SQSQueue(queueURL: reply.QueueUrl, region: region, credentials: credentials, httpClient: httpClient,
                            timeout: timeout, logger: logger)
    }

    // MARK: EventQueue

    /// Receives up to `maxMessages` messages (SQS ReceiveMessage), long-polling up to `wait`.
    ///
    /// Each message's ``QueueMessage/receiveCount`` and ``QueueMessage/sentAt`` come
    /// from the `ApproximateReceiveCount` and `SentTimestamp` attributes; its body is
    /// checked against the `MD5OfBody` SQS sends.
    ///
    /// - Parameters:
    ///   - maxMessages: 1…10.
    ///   - wait: the long-poll wait; cut to whole seconds and to SQS's limit of 20.
    ///   - visibilityTimeout: seconds each message stays hidden (0…43200).
    /// - Throws: ``SQSError``.
    public func receive(maxMessages: Int, wait: Duration, visibilityTimeout: Int) async throws -> [QueueMessage] {
        let waitSeconds = Int(min(max(wait.components.seconds, 0), 20))
        let request = Wire.ReceiveMessage(
            QueueUrl: queueURL, MaxNumberOfMessages: maxMessages, WaitTimeSeconds: waitSeconds,
            VisibilityTimeout: visibilityTimeout,
            MessageSystemAttributeNames: Self.systemAttributes, AttributeNames: Self.systemAttributes)
        let reply: Wire.ReceiveMessageResult = try await call.send(
            "ReceiveMessage", request, timeout: timeout + .seconds(Int64(waitSeconds)))
        return try (reply.Messages ?? []).map { message in
            if let md5 = message.MD5OfBody, md5.lowercased() != Self.md5Hex(message.Body) {
                throw SQSError(action: "ReceiveMessage", queue: queueURL, status: nil, code: .invalidResponse,
                               message: "Message \(message.MessageId): the body's MD5 differs from the MD5OfBody sent with it.")
            }
            let attributes = message.Attributes ?? [:]
            return QueueMessage(
                id: message.MessageId, receiptHandle: message.ReceiptHandle, body: message.Body,
                receiveCount: attributes["ApproximateReceiveCount"].flatMap { Int($0) } ?? 1,
                sentAt: attributes["SentTimestamp"].flatMap { Double($0) }.map { Date(timeIntervalSince1970: $0 / 1000) })
        }
    }

    /// Deletes a received message for good (SQS DeleteMessage).
    /// - Throws: ``SQSError``, e.g. ``SQSError/Code/receiptHandleIsInvalid``.
    public func delete(_ message: QueueMessage) async throws {
        let _: Wire.Empty = try await call.send("DeleteMessage", Wire.DeleteMessage(QueueUrl: queueURL, ReceiptHandle: message.receiptHandle))
    }

    /// Hides a received message for `timeout` seconds from now; 0 makes it
    /// visible at once (SQS ChangeMessageVisibility).
    /// - Throws: ``SQSError``, e.g. ``SQSError/Code/messageNotInflight``.
    public func changeVisibility(_ message: QueueMessage, timeout: Int) async throws {
        let _: Wire.Empty = try await call.send(
            "ChangeMessageVisibility",
            Wire.ChangeMessageVisibility(QueueUrl: queueURL, ReceiptHandle: message.receiptHandle, VisibilityTimeout: timeout))
    }

    /// Depth: messages waiting plus in flight (`ApproximateNumberOfMessages` +
    /// `ApproximateNumberOfMessagesNotVisible`). SQS does not tell the oldest
    /// message's age through the API (CloudWatch does), so it is `nil`.
    /// - Throws: ``SQSError``.
    public func statistics() async throws -> QueueStatistics {
        let attributes = try await attributes(["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        let depth = (Int(attributes["ApproximateNumberOfMessages"] ?? "") ?? 0)
            + (Int(attributes["ApproximateNumberOfMessagesNotVisible"] ?? "") ?? 0)
        return QueueStatistics(depth: depth, oldestAge: nil)
    }

    // MARK: More of SQS

    /// Sends a message (SQS SendMessage): for tests and tools; the storage sends events itself.
    ///
    /// - Parameters:
    ///   - body: the message, e.g. an S3 event notification's JSON (at most 256 KiB).
    ///   - delaySeconds: how long it stays invisible at first (0…900).
    /// - Returns: the message's id.
    /// - Throws: ``SQSError``, also when the MD5 SQS reports is not the body's.
    @discardableResult
    public func send(_ body: String, delaySeconds: Int? = nil) async throws -> String {
        let reply: Wire.SendMessageResult = try await call.send(
            "SendMessage", Wire.SendMessage(QueueUrl: queueURL, MessageBody: body, DelaySeconds: delaySeconds))
        if let md5 = reply.MD5OfMessageBody, md5.lowercased() != Self.md5Hex(body) {
            throw SQSError(action: "SendMessage", queue: queueURL, status: nil, code: .invalidResponse,
                           message: "The MD5 SQS computed for the body differs from ours: it was altered in transit.")
        }
        return reply.MessageId
    }

    /// Reads queue attributes (SQS GetQueueAttributes), e.g. `QueueArn`, `RedrivePolicy`, `All`.
    /// - Returns: the attributes, values as SQS gives them (strings).
    /// - Throws: ``SQSError``.
    public func attributes(_ names: [String]) async throws -> [String: String] {
        let reply: Wire.GetQueueAttributesResult = try await call.send(
            "GetQueueAttributes", Wire.GetQueueAttributes(QueueUrl: queueURL, AttributeNames: names))
        return reply.Attributes ?? [:]
    }

    // MARK: Plumbing

    static let systemAttributes = ["ApproximateReceiveCount", "SentTimestamp"]

    var call: Call {
        Call(endpoint: endpoint, host: host, queue: queueURL, signers: signers, httpClient: httpClient, timeout: timeout, logger: logger)
    }

    /// Splits `http(s)://host[:port][/path]` into scheme and host (default ports dropped).
    static func parse(url: String, requirePath: Bool) throws -> (scheme: String, host: String) {
        func invalid(_ why: String) -> SQSError {
            SQSError(action: requirePath ? "QueueURL" : "Endpoint", queue: url, status: nil, code: .invalidQueueURL, message: why)
        }
        guard let schemeEnd = url.range(of: "://") else { throw invalid("The URL needs a scheme, e.g. https://.") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { throw invalid("The URL must use http or https.") }
        let rest = url[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var host = rest[..<hostEnd].lowercased()
        let path = rest[hostEnd...]
        guard !host.isEmpty, !host.contains("@"), !host.contains("?"), !host.contains("#") else {
            throw invalid("The URL has no usable host.")
        }
        if requirePath {
            guard path.count > 1, !path.contains("?"), !path.contains("#") else {
                throw invalid("A queue URL ends in /account/name, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/uploads.")
            }
        } else if path.count > 1 {
            throw invalid("The endpoint must be only scheme://host[:port].")
        }
        let defaultPort = scheme == "https" ? ":443" : ":80"
        if host.hasSuffix(defaultPort) { host = String(host.dropLast(defaultPort.count)) }
        return (scheme, host)
    }

    /// Lowercase hex MD5 of the UTF-8 bytes of `text`, as SQS computes `MD5OfBody`.
    static func md5Hex(_ text: String) -> String { Hex.encode(Insecure.MD5.hash(data: Array(text.utf8))) }
}
