import Foundation
import Synchronization
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineConcurrencyTests {
    @Test func twoHundredConcurrentPuts() async throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine
        try await withThrowingTaskGroup(of: ObjectInfo.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try engine.put("bucket", "objects/\(index)", Array("value \(index)".utf8))
                }
            }
            var count = 0
            for try await _ in group { count += 1 }
            #expect(count == 200)
        }
        #expect(try engine.allNames("bucket", pageSize: 1000).names.count == 200)
        for index in stride(from: 0, to: 200, by: 17) {
            #expect(try engine.text("bucket", "objects/\(index)") == "value \(index)")
        }
        #expect(try store.directory.blobFiles().count == 200)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func concurrentCommitsToOneKeyLastWinsNoBlobLeaks() throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine
        let winners = Mutex<[String]>([])
        onThreads(32) { index in
            do {
                let info = try engine.put("bucket", "same", Array("writer \(index)".utf8))
                // Commits serialize in the index; record the order they were acknowledged in.
                winners.withLock { $0.append(info.etag) }
            } catch {
                Issue.record("writer \(index): \(error)")
            }
        }
        #expect(winners.withLock { $0.count } == 32)
        let final = try engine.head(bucket: "bucket", key: "same")
        #expect(try engine.text("bucket", "same").hasPrefix("writer "))
        #expect(winners.withLock { $0.contains(final.etag) })
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func racingIfNoneMatchWritersExactlyOneWins() async throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine
        // Prepare every upload first, so that the commits themselves race.
        let sinks = try (0..<50).map { index in
            let sink = try engine.beginUpload(bucket: "bucket")
            try Array("writer \(index)".utf8).withUnsafeBytes { try sink.write($0) }
            return sink
        }
        let results = await withTaskGroup(of: (Int, Result<ObjectInfo, StoreError>).self) { group in
            for (index, sink) in sinks.enumerated() {
                group.addTask {
                    do throws(StoreError) {
                        return (index, .success(try engine.commit(sink, bucket: "bucket", key: "once", metadata: ObjectMetadata(), condition: .ifNoneMatchAny)))
                    } catch {
                        return (index, .failure(error))
                    }
                }
            }
            var results: [(Int, Result<ObjectInfo, StoreError>)] = []
            for await result in group { results.append(result) }
            return results
        }
        let winners = results.compactMap { index, result in (try? result.get()).map { (index, $0) } }
        let losers = results.compactMap { _, result in if case .failure(let error) = result { error } else { nil } }
        #expect(winners.count == 1)
        #expect(losers.count == 49)
        #expect(losers.allSatisfy { $0.code == .preconditionFailed })
        let winner = try #require(winners.first)
        #expect(try engine.text("bucket", "once") == "writer \(winner.0)")
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func racingIfNoneMatchOnThreads() throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine
        for round in 0..<5 {
            let wins = Atomic<Int>(0)
            let refusals = Atomic<Int>(0)
            onThreads(24) { index in
                do {
                    try engine.put("bucket", "round-\(round)", Array("\(index)".utf8), condition: .ifNoneMatchAny)
                    wins.add(1, ordering: .relaxed)
                } catch let error as StoreError where error.code == .preconditionFailed {
                    refusals.add(1, ordering: .relaxed)
                } catch {
                    Issue.record("\(error)")
                }
            }
            #expect(wins.load(ordering: .relaxed) == 1)
            #expect(refusals.load(ordering: .relaxed) == 23)
        }
        #expect(try store.directory.blobFiles().count == 5)
    }

    @Test func readersAndWritersTogether() async throws {
        let store = try TestStore()
        defer { store.close() }
        let engine = store.engine
        let versions = (0..<20).map { [UInt8](repeating: UInt8($0), count: 4096 + $0) }
        try engine.put("bucket", "hot", versions[0])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for version in versions.dropFirst() { try engine.put("bucket", "hot", version) }
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<50 {
                        // Whatever version a reader opens, it reads all of it, consistently.
                        let (info, reader) = try engine.open(bucket: "bucket", key: "hot")
                        let bytes = try reader.read(offset: 0, count: Int(reader.size))
                        reader.close()
                        #expect(Int64(bytes.count) == info.size)
                        #expect(versions.contains(bytes))
                        _ = try engine.list(bucket: "bucket", prefix: "", delimiter: "/", after: nil, maxKeys: 10)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try engine.bytes("bucket", "hot") == versions[19])
        #expect(try store.directory.blobFiles().count == 1)
    }
}
