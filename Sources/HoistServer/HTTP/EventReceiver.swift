import Events
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import UploadsAPI
import UploadsPostgres

/// `POST /events/s3`: storage event pushes (a Ceph RGW topic with an `http` push endpoint, which
/// POSTs S3-format `{"Records": […]}`) into the PostgreSQL queue `hoist worker --queue postgres`
/// consumes. Each record is queued as its own message, once: a push the storage repeats is
/// recognised by bucket, key, version and sequencer (``PostgresEventQueue/sendOnce(_:timeout:)``).
///
/// Authenticated by a shared token (`HOIST_EVENTS_TOKEN`), in the query (`?token=…`, since an RGW
/// push cannot add headers) or as `Authorization: Bearer …`, compared in constant time; never logged.
struct EventReceiver {
    let queue: PostgresEventQueue
    let token: String
    let logger: Logger

    /// The largest push read (RGW sends one record per push).
    static let maximumBody = 1 << 20

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("events/s3") { request, _ in
            try await receive(request)
        }
    }

    func receive(_ request: Request) async throws -> Response {
        let given = request.uri.queryParameters.get("token")
            ?? request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        guard let given, Self.sameToken(given, token) else {
            throw APIError(.unauthorized, "unauthorized", "A storage event push needs the receiver's token (?token= or Authorization: Bearer).")
        }
        var body = ByteBuffer()
        for try await piece in request.body {
            guard body.readableBytes + piece.readableBytes <= Self.maximumBody else {
                throw APIError(.contentTooLarge, "too_large", "An event push is at most \(Self.maximumBody) bytes.")
            }
            var piece = piece
            body.writeBuffer(&piece)
        }
        let text = String(buffer: body)
        if S3EventNotification.isTestEvent(text) {
            return Self.json(.ok, fields: ["queued": 0, "duplicates": 0])
        }
        guard let notification = S3EventNotification.decode(text), !notification.records.isEmpty else {
            throw APIError(.badRequest, "invalid_event", "The body is not an S3 event notification ({\"Records\": […]}).")
        }
        let messages = notification.records.map { record in
            PostgresEventQueue.OnceMessage(bucket: record.s3.bucket.name, key: record.s3.object.key,
                                           version: record.s3.object.versionId ?? "", sequencer: record.s3.object.sequencer,
                                           body: S3EventNotification(records: [record]).encoded())
        }
        do {
            let (queued, duplicates) = try await queue.sendOnce(messages)
            logger.info("storage events received", metadata: ["events.queued": "\(queued)", "events.duplicates": "\(duplicates)"])
            return Self.json(.ok, fields: ["queued": queued, "duplicates": duplicates])
        } catch {
            // The storage retries a push that failed: the event is not lost.
            logger.error("storage events could not be queued", metadata: ["error": "\(error)"])
            var unavailable = APIError(.serviceUnavailable, "unavailable", "The event queue is unavailable; push again later.")
            unavailable.headers[.retryAfter] = "5"
            throw unavailable
        }
    }

    /// Compares in time that depends only on the lengths, never on where the bytes differ.
    static func sameToken(_ given: String, _ expected: String) -> Bool {
        let a = Array(given.utf8), b = Array(expected.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    static func json(_ status: HTTPResponse.Status, fields: [String: Int]) -> Response {
        let text = "{" + fields.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
