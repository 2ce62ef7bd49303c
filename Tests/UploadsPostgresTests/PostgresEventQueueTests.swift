import Events
import Foundation
import Synchronization
import Testing
@testable import UploadsPostgres

@Suite("PostgreSQL event queue",
       .disabled(if: PostgresServer.skipped, "PostgreSQL is not installed (apt-get install postgresql; HOIST_REQUIRE_POSTGRES=1 makes this a failure)"))
struct PostgresEventQueueTests {
    /// A settable clock: leases end when the test says, not after real seconds.
    final class TestClock: Sendable {
        private let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func read() -> Date { now.withLock { $0 } }
        func advance(_ seconds: Double) { now.withLock { $0 += seconds } }
    }

    @Test("a lease hides a message until it ends or is deleted; a stale receipt does nothing; dead letter after N deliveries")
    func leaseAndDeadLetter() async throws {
        try await PostgresServer.run { server in
            try await server.withDatabase { database async throws in
                let clock = TestClock()
                let queue = PostgresEventQueue(database: database, name: "events", maxReceiveCount: 2, clock: { clock.read() })
                let other = PostgresEventQueue(database: database, name: "other", clock: { clock.read() })
                try await queue.send(#"{"Records":[1]}"#)
                try await queue.send(#"{"Records":[2]}"#)
                try await other.send("elsewhere")
                #expect(try await queue.statistics().depth == 2)

                let first = try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30)
                #expect(first.map(\.body) == [#"{"Records":[1]}"#, #"{"Records":[2]}"#])
                #expect(first.allSatisfy { $0.receiveCount == 1 })
                #expect(try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30).isEmpty, "leased")
                try await queue.delete(first[1])

                clock.advance(31)
                let second = try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30)
                #expect(second.map(\.body) == [#"{"Records":[1]}"#] && second.first?.receiveCount == 2)
                // The first delivery's receipt is stale: it neither deletes nor extends.
                try await queue.delete(first[0])
                try await queue.changeVisibility(first[0], timeout: 0)
                #expect(try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30).isEmpty)
                // The current delivery extends its lease (a heartbeat), then lets it go.
                try await queue.changeVisibility(second[0], timeout: 600)
                clock.advance(31)
                #expect(try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30).isEmpty)
                try await queue.changeVisibility(second[0], timeout: 0)
                // Delivered twice already (maxReceiveCount 2): now a dead letter, never delivered again.
                #expect(try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30).isEmpty)
                #expect(try await queue.deadLetters() == [#"{"Records":[1]}"#])
                #expect(try await queue.statistics().depth == 0)
                #expect(try await other.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30).map(\.body) == ["elsewhere"])
            }
        }
    }

    @Test("sendOnce: an event pushed again (same bucket, key, version, sequencer) is queued once")
    func sendOnceDeduplicates() async throws {
        try await PostgresServer.run { server in
            try await server.withDatabase { database async throws in
                let queue = PostgresEventQueue(database: database, name: "events")
                func message(_ key: String, _ sequencer: String, version: String = "") -> PostgresEventQueue.OnceMessage {
                    .init(bucket: "b", key: key, version: version, sequencer: sequencer, body: "\(key) \(sequencer) \(version)")
                }
                var result = try await queue.sendOnce([message("a", "01"), message("b", "01")])
                #expect(result.queued == 2 && result.duplicates == 0)
                result = try await queue.sendOnce([message("a", "01"), message("a", "02"), message("a", "01", version: "v2")])
                #expect(result.queued == 2 && result.duplicates == 1)
                let bodies = try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30).map(\.body)
                #expect(bodies == ["a 01 ", "b 01 ", "a 02 ", "a 01 v2"])
            }
        }
    }

    @Test("consumers on two pools take different messages (SKIP LOCKED): each message is delivered once")
    func competingConsumers() async throws {
        try await PostgresServer.run { server in
            try await server.withDatabase { one async throws in
                try await server.withDatabase { two async throws in
                    let queues = [PostgresEventQueue(database: one, name: "events"), PostgresEventQueue(database: two, name: "events")]
                    for n in 0..<100 { try await queues[n % 2].send("m\(n)") }
                    let received = try await withThrowingTaskGroup(of: [String].self) { group in
                        for c in 0..<6 {
                            group.addTask {
                                var mine: [String] = []
                                while true {
                                    let batch = try await queues[c % 2].receive(maxMessages: 5, wait: .zero, visibilityTimeout: 600)
                                    if batch.isEmpty { return mine }
                                    for message in batch {
                                        mine.append(message.body)
                                        try await queues[c % 2].delete(message)
                                    }
                                }
                            }
                        }
                        return try await group.reduce(into: [String]()) { $0 += $1 }
                    }
                    #expect(received.count == 100)
                    #expect(Set(received) == Set((0..<100).map { "m\($0)" }))
                    #expect(try await queues[0].statistics().depth == 0)
                }
            }
        }
    }
}
