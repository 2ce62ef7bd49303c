import Foundation
import Hummingbird
import Logging
import Synchronization

/// A container credentials endpoint on 127.0.0.1 (ephemeral port): serves the JSON a test sets,
/// or a status, and records the requests' `Authorization` headers.
final class CredentialsTestServer: Sendable {
    private struct State {
        var body = "{}"
        var status = 200
        var delay: Duration = .zero
        var authorizations: [String?] = []
    }

    private let state = Mutex(State())

    /// How many requests arrived.
    var requests: Int { state.withLock { $0.authorizations.count } }
    /// The `Authorization` header of each request, in order.
    var authorizations: [String?] { state.withLock { $0.authorizations } }

    /// Serves `body` with `status` from now on.
    func serve(_ body: String, status: Int = 200) {
        state.withLock { $0.body = body; $0.status = status }
    }

    /// Serves credentials in ECS's format from now on.
    func serve(accessKeyId: String, secret: String, token: String, expiration: Date) {
        let formatted = expiration.formatted(.iso8601)
        serve("""
            {"RoleArn":"arn:aws:iam::123456789012:role/hoist-api","AccessKeyId":"\(accessKeyId)",\
            "SecretAccessKey":"\(secret)","Token":"\(token)","Expiration":"\(formatted)"}
            """)
    }

    /// Waits `delay` before answering, from now on.
    func delay(_ delay: Duration) { state.withLock { $0.delay = delay } }

    private func respond(_ request: Request) async throws -> Response {
        let authorization = request.headers[.authorization]
        let (body, status, delay) = state.withLock { state in
            state.authorizations.append(authorization)
            return (state.body, state.status, state.delay)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// Runs the server while `body` runs, passing it the credentials URL (`http://127.0.0.1:<port>/creds`).
    func run<T>(_ body: (_ url: String) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/creds") { request, _ in try await self.respond(request) }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "credentials-test-server")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next(), port > 0 else {
                throw TestServerError.didNotStart
            }
            return try await body("http://127.0.0.1:\(port)/creds")
        }
    }
}

enum TestServerError: Error {
    case didNotStart
    case noEndpoint
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_750_000_000)) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }

    func advance(seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    /// The closure form the provider takes.
    var date: @Sendable () -> Date { { self.now } }
}
