import Foundation
import Synchronization
import Testing
@testable import ObjectStoreEngine

@Suite struct StorageEngineConcurrencyTests {
    @Test func twoHundredConcurrentPuts() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await withThrowingTaskGroup(of: ObjectInfo.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await engine.put("bucket", "objects/\(index)", Array("value \(index)".utf8))
                }
            }
            var count = 0
            for try await _ in group { count += 1 }
            #expect(count == 200)
        }
        #expect(try await engine.allNames("bucket", pageSize: 1000).names.count == 200)
        for index in stride(from: 0, to: 200, by: 17) {
            #expect(try await engine.text("bucket", "objects/\(index)") == "value \(index)")
        }
        #expect(try store.directory.blobFiles().count == 200)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func concurrentCommitsToOneKeyLastWinsNoBlobLeaks() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let winners = Mutex<[String]>([])
        await concurrently(32) { index in
            do {
                let info = try await engine.put("bucket", "same", Array("writer \(index)".utf8))
                // Commits serialize in the index; record the order they were acknowledged in.
                winners.withLock { $0.append(info.etag) }
            } catch {
                Issue.record("writer \(index): \(error)")
            }
        }
        #expect(winners.withLock { $0.count } == 32)
        let final = try await engine.head(bucket: "bucket", key: "same")
        #expect(try await engine.text("bucket", "same").hasPrefix("writer "))
        #expect(winners.withLock { $0.contains(final.etag) })
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func racingIfNoneMatchWritersExactlyOneWins() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        // Prepare every upload first, so that the commits themselves race.
        var sinks: [UploadSink] = []
        for index in 0..<50 {
            let sink = try await engine.beginUpload(bucket: "bucket")
            try await sink.write(Array("writer \(index)".utf8))
            sinks.append(sink)
        }
        let results = await withTaskGroup(of: (Int, Result<ObjectInfo, StoreError>).self) { group in
            for (index, sink) in sinks.enumerated() {
                group.addTask {
                    do throws(StoreError) {
                        return (index, .success(try await engine.commit(sink, bucket: "bucket", key: "once", metadata: ObjectMetadata(), condition: .ifNoneMatchAny)))
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
        #expect(try await engine.text("bucket", "once") == "writer \(winner.0)")
        #expect(try store.directory.blobFiles().count == 1)
        #expect(try store.directory.tmpFiles().isEmpty)
    }

    @Test func racingIfNoneMatchConcurrently() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        for round in 0..<5 {
            let wins = Atomic<Int>(0)
            let refusals = Atomic<Int>(0)
            await concurrently(24) { index in
                do {
                    try await engine.put("bucket", "round-\(round)", Array("\(index)".utf8), condition: .ifNoneMatchAny)
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
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        let versions = (0..<20).map { [UInt8](repeating: UInt8($0), count: 4096 + $0) }
        try await engine.put("bucket", "hot", versions[0])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for version in versions.dropFirst() { try await engine.put("bucket", "hot", version) }
            }
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<50 {
                        // Whatever version a reader opens, it reads all of it, consistently.
                        let (info, reader) = try await engine.open(bucket: "bucket", key: "hot")
                        let bytes = try await reader.read(offset: 0, count: Int(reader.size))
                        reader.close()
                        #expect(Int64(bytes.count) == info.size)
                        #expect(versions.contains(bytes))
                        _ = try await engine.list(bucket: "bucket", prefix: "", delimiter: "/", after: nil, maxKeys: 10)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await engine.bytes("bucket", "hot") == versions[19])
        #expect(try store.directory.blobFiles().count == 1)
    }

    /// A read stuck on the disk parks a thread of NIO's pool, not of Swift's cooperative pool:
    /// with more reads stuck than the machine has cores, index reads and plain tasks still run.
    ///
    /// The object's blob is swapped for a FIFO, whose `open` blocks until a writer comes, and the
    /// writer comes only after the other work is done: the test orders events and measures no time.
    /// Were the reads blocking the cooperative pool, the other work could not run and the test's
    /// releaser (a plain thread) would end the stall after a minute, failing the test instead of hanging it.
    @Test func stuckFileReadsDoNotStallTheCooperativePool() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let engine = store.engine
        try await engine.put("bucket", "stuck", [UInt8]())
        let blob = try #require(try store.directory.blobNames().first)
        try await engine.put("bucket", "other", "fine")
        let fifo = store.directory.blobPath(blob)
        try FileManager.default.removeItem(atPath: fifo)
        #expect(mkfifo(fifo, 0o644) == 0)

        let stuckReads = ProcessInfo.processInfo.activeProcessorCount + 2
        let progress = StallProgress()
        let release = DispatchSemaphore(value: 0)
        let releaserDone = DispatchSemaphore(value: 0)
        let releaser = Thread {
            // The fallback only ends a stall; a passing run never waits for it.
            if release.wait(timeout: .now() + 60) == .timedOut { progress.forced.store(true, ordering: .releasing) }
            progress.released.store(true, ordering: .releasing)
            // Holding the FIFO open for writing lets every reader's `open` return, now and later.
            let writer = open(fifo, O_WRONLY)
            releaserDone.wait()
            if writer >= 0 { close(writer) }
        }
        releaser.start()

        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<stuckReads {
                group.addTask {
                    progress.started.add(1, ordering: .releasing)
                    let (info, reader) = try await engine.open(bucket: "bucket", key: "stuck")
                    reader.close()
                    #expect(info.size == 0)
                    let wasReleased = progress.released.load(ordering: .acquiring)
                    #expect(wasReleased, "a read of the stuck file returned before it was released")
                }
            }
            // Every stuck read has begun before the other work starts.
            while progress.started.load(ordering: .acquiring) < stuckReads { await Task.yield() }

            // Index reads (GRDB's async readers) and plain child tasks run meanwhile.
            for _ in 0..<20 {
                #expect(try await engine.head(bucket: "bucket", key: "other").size == 4)
                #expect(try await engine.list(bucket: "bucket", prefix: "", delimiter: nil, after: nil, maxKeys: 10).entries.count == 2)
            }
            let sums = await withTaskGroup(of: Int.self) { inner in
                for index in 0..<(4 * stuckReads) { inner.addTask { (0...index).reduce(0, +) } }
                return await inner.reduce(0, +)
            }
            #expect(sums > 0)
            let releasedEarly = progress.released.load(ordering: .acquiring)
            #expect(!releasedEarly, "the other work ran while the reads were stuck")
            release.signal()
            try await group.waitForAll()
        }
        releaserDone.signal()
        let wasForced = progress.forced.load(ordering: .acquiring)
        #expect(!wasForced, "the stuck reads stalled the cooperative pool until the fallback released them")
    }
}

/// What ``StorageEngineConcurrencyTests/stuckFileReadsDoNotStallTheCooperativePool()`` counts, shared by its tasks and its thread.
private final class StallProgress: Sendable {
    /// Stuck reads that have begun.
    let started = Atomic<Int>(0)
    /// Whether the FIFO was opened for writing (the reads may return).
    let released = Atomic<Bool>(false)
    /// Whether the fallback released the reads (the other work could not run).
    let forced = Atomic<Bool>(false)
}
