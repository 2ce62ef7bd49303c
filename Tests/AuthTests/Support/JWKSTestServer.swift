import Foundation
import Hummingbird
import Logging
import Synchronization

/// A real HTTP server on 127.0.0.1 (ephemeral port) serving a JWKS document that tests can
/// change, break, slow down, and count requests to.
final class JWKSTestServer: Sendable {
    private struct State {
        var document: Data
        var status = 200
        var delay: Duration = .zero
        var requests = 0
    }

    private let state: Mutex<State>

    /// Creates a server (not yet running) that serves `document`.
    init(document: Data) {
        state = Mutex(State(document: document))
    }

    /// How many times the JWKS was requested.
    var requests: Int { state.withLock { $0.requests } }

    /// Serves another document from now on.
    func serve(_ document: Data) { state.withLock { $0.document = document } }

    /// Answers with `status` (and the document as body) from now on.
    func fail(status: Int) { state.withLock { $0.status = status } }

    /// Waits `delay` before answering, from now on.
    func delay(_ delay: Duration) { state.withLock { $0.delay = delay } }

    private func respond() async throws -> Response {
        let (document, status, delay) = state.withLock { state in
            state.requests += 1
            return (state.document, state.status, state.delay)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        return Response(
            status: .init(code: status),
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: document))
        )
    }

    /// Runs the server while `body` runs, passing it the base URL (`http://127.0.0.1:<port>`).
    func run<T>(_ body: (_ baseURL: String) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/.well-known/jwks.json") { _, _ in try await self.respond() }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "jwks-test-server")
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
            return try await body("http://127.0.0.1:\(port)")
        }
    }
}

enum TestServerError: Error {
    case didNotStart
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

    /// The closure form `JWKSTokenVerifier` takes.
    var date: @Sendable () -> Date { { self.now } }
}
