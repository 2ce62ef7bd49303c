/// A call ``SQSQueue`` made that did not succeed: the service's error code
/// (from `__type`) and message with the HTTP status; or a problem the client
/// found itself (a queue URL it cannot use, a reply it cannot read).
///
/// ```swift
/// do {
///     try await queue.delete(message)
/// } catch let error as SQSError where error.code == .receiptHandleIsInvalid {
///     // an old delivery's handle: the message was received again since
/// }
/// ```
///
/// Connection failures and time-outs are not wrapped: they arrive as
/// AsyncHTTPClient's own errors.
public struct SQSError: Error, Sendable, CustomStringConvertible {
    /// The error code, as SQS's JSON protocol names it (`QueueDoesNotExist`, …).
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The code as SQS spells it.
        public let rawValue: String
        /// Wraps a code as SQS spells it.
        public init(rawValue: String) { self.rawValue = rawValue }
        init(_ rawValue: String) { self.rawValue = rawValue }
        /// The code as the service spells it.
        public var description: String { rawValue }

        /// The queue does not exist (or is not visible to these credentials).
        public static let queueDoesNotExist = Code("QueueDoesNotExist")
        /// The receipt handle is not one the queue issued.
        public static let receiptHandleIsInvalid = Code("ReceiptHandleIsInvalid")
        /// The message is not in flight (its visibility cannot be changed).
        public static let messageNotInflight = Code("MessageNotInflight")
        /// A parameter is out of range.
        public static let invalidParameterValue = Code("InvalidParameterValue")
        /// An attribute name SQS does not know.
        public static let invalidAttributeName = Code("InvalidAttributeName")
        /// The credentials may not do this.
        public static let accessDenied = Code("AccessDenied")
        /// The signature does not match: usually a wrong secret key.
        public static let signatureDoesNotMatch = Code("SignatureDoesNotMatch")
        /// Client-side: the queue URL is not `http(s)://host[:port]/account/name`.
        public static let invalidQueueURL = Code("InvalidQueueURL")
        /// Client-side: the reply is not what the protocol promises (unreadable JSON, a body whose MD5 differs).
        public static let invalidResponse = Code("InvalidResponse")
    }

    /// The action that failed (`ReceiveMessage`, `DeleteMessage`, …).
    public let action: String
    /// The queue's URL, or the endpoint's for calls that name no queue.
    public let queue: String
    /// The HTTP status, or `nil` when the client itself found the problem.
    public let status: Int?
    /// The error code.
    public let code: Code
    /// The service's message (or the client's), for people.
    public let message: String
    /// `x-amzn-RequestId` of the response, for a support case.
    public let requestId: String?

    /// Creates an error.
    public init(action: String, queue: String, status: Int?, code: Code, message: String, requestId: String? = nil) {
        self.action = action
        self.queue = queue
        self.status = status
        self.code = code
        self.message = message
        self.requestId = requestId
    }

    /// One line: action, queue, status, code, message and request id.
    ///
    /// `SQS DeleteMessage http://127.0.0.1:5000/123456789012/events failed: HTTP 400 ReceiptHandleIsInvalid: … (request id …)`
    public var description: String {
        let statusText = status.map { "HTTP \($0) " } ?? ""
        let request = requestId.map { " (request id \($0))" } ?? ""
        return "SQS \(action) \(queue) failed: \(statusText)\(code.rawValue): \(message)\(request)"
    }
}
