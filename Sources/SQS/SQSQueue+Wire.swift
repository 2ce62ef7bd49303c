import AsyncHTTPClient
import Crypto
import Events
import Foundation
import HoistSupport
import Logging
import NIOCore
import SigV4

extension SQSQueue {
    /// The JSON shapes of the calls used, named as in SQS's API reference.
    enum Wire {
        struct CreateQueue: Encodable {
            var QueueName: String
            var Attributes: [String: String]?
        }
        struct CreateQueueResult: Decodable {
            var QueueUrl: String
        }
        struct ReceiveMessage: Encodable {
            var QueueUrl: String
            var MaxNumberOfMessages: Int
            var WaitTimeSeconds: Int
            var VisibilityTimeout: Int
            var MessageSystemAttributeNames: [String]
            /// The older name of `MessageSystemAttributeNames`, which some implementations still read.
            var AttributeNames: [String]
        }
        struct ReceiveMessageResult: Decodable {
            struct Message: Decodable {
                var MessageId: String
                var ReceiptHandle: String
                var MD5OfBody: String?
                var Body: String
                var Attributes: [String: String]?
            }
            var Messages: [Message]?
        }
        struct DeleteMessage: Encodable {
            var QueueUrl: String
            var ReceiptHandle: String
        }
        struct ChangeMessageVisibility: Encodable {
            var QueueUrl: String
            var ReceiptHandle: String
            var VisibilityTimeout: Int
        }
        struct GetQueueAttributes: Encodable {
            var QueueUrl: String
            var AttributeNames: [String]
        }
        struct GetQueueAttributesResult: Decodable {
            var Attributes: [String: String]?
        }
        struct SendMessage: Encodable {
            var QueueUrl: String
            var MessageBody: String
            var DelaySeconds: Int?
        }
        struct SendMessageResult: Decodable {
            var MessageId: String
            var MD5OfMessageBody: String?
        }
        /// A reply with nothing in it (`{}`).
        struct Empty: Decodable {}
        /// An AWS JSON error body: `{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "…"}`.
        struct ErrorBody: Decodable {
            var __type: String?
            var message: String?
            var Message: String?
        }
    }

    /// One signed AWS JSON 1.0 call to SQS.
    struct Call: Sendable {
        let endpoint: String
        let host: String
        /// Named in errors: the queue URL, or the endpoint for `CreateQueue`.
        let queue: String
        let signers: RotatingSigner
        let httpClient: HTTPClient
        let timeout: TimeAmount
        let logger: Logger?

        /// Posts `payload` as `AmazonSQS.<action>` and decodes the reply.
        /// - Throws: ``SQSError`` for an error reply or one that cannot be read.
        func send<Payload: Encodable, Reply: Decodable>(_ action: String, _ payload: Payload, timeout: TimeAmount? = nil,
                                                        date: Date = Date()) async throws -> Reply {
            let body = try JSONEncoder().encode(payload)
            let headers = [("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "AmazonSQS.\(action)")]
            let signer = try await signers.signer()
            let signed = signer.signHeaders(method: "POST", host: host, path: "/", headers: headers,
                                            payloadHash: SQSQueue.sha256Hex(body), date: date, addContentSHA256Header: false)
            var request = HTTPClientRequest(url: endpoint + "/")
            request.method = .POST
            for (name, value) in signed.headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: body))
            let deadline = timeout ?? self.timeout
            let response = try await httpClient.execute(request, timeout: deadline, logger: logger)
            let requestId = response.headers.first(name: "x-amzn-requestid")
            let status = Int(response.status.code)
            let data = Data(try await response.body.collect(upTo: 4 << 20).readableBytesView)
            guard (200..<300).contains(status) else {
                throw Self.error(action: action, queue: queue, status: status, body: data, requestId: requestId,
                                 queryError: response.headers.first(name: "x-amzn-query-error"))
            }
            do {
                return try JSONDecoder().decode(Reply.self, from: data.isEmpty ? Data("{}".utf8) : data)
            } catch {
                throw SQSError(action: action, queue: queue, status: status, code: .invalidResponse,
                               message: "The reply is not the JSON expected: \(String(decoding: data.prefix(200), as: UTF8.self))",
                               requestId: requestId)
            }
        }

        /// The error an error reply stands for: the code from `__type` (after its `#`),
        /// else from `x-amzn-query-error`, else from the status.
        static func error(action: String, queue: String, status: Int, body: Data, requestId: String?, queryError: String?) -> SQSError {
            let decoded = try? JSONDecoder().decode(Wire.ErrorBody.self, from: body)
            var code = decoded?.__type.map { type in type.split(separator: "#").last.map(String.init) ?? type }
            if code?.isEmpty ?? true, let queryError {
                code = queryError.split(separator: ";").first.map(String.init)
            }
            let legacy = ["AWS.SimpleQueueService.NonExistentQueue": "QueueDoesNotExist"]
            let name = code.flatMap { $0.isEmpty ? nil : (legacy[$0] ?? $0) } ?? "HTTP\(status)"
            var message = decoded?.message ?? decoded?.Message ?? ""
            if message.isEmpty {
                message = body.isEmpty ? "The reply had no error body." : "Unreadable error body: \(String(decoding: body.prefix(200), as: UTF8.self))"
            }
            return SQSError(action: action, queue: queue, status: status, code: .init(rawValue: name), message: message, requestId: requestId)
        }
    }

    /// Lowercase hex SHA-256, the payload hash SigV4 signs.
    static func sha256Hex(_ data: Data) -> String { Hex.encode(SHA256.hash(data: data)) }
}
