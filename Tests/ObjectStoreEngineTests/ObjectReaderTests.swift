import Testing
@testable import ObjectStoreEngine

@Suite struct ObjectReaderTests {
    @Test func readsRanges() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let bytes = (0..<1000).map { UInt8($0 % 251) }
        try await store.engine.put("bucket", "k", bytes)
        let (info, reader) = try await store.engine.open(bucket: "bucket", key: "k")
        defer { reader.close() }
        #expect(reader.size == 1000)
        #expect(info.size == 1000)
        #expect(try await reader.read(offset: 0, count: 10) == Array(bytes[0..<10]))
        #expect(try await reader.read(offset: 990, count: 100) == Array(bytes[990...]))  // fewer only at the end
        #expect(try await reader.read(offset: 1000, count: 10) == [])
        #expect(try await reader.read(offset: 5000, count: 10) == [])
        #expect(try await reader.read(offset: 3, count: 0) == [])
        await expectStoreError(.invalidArgument) { try await reader.read(offset: -1, count: 1) }
        await expectStoreError(.invalidArgument) { try await reader.read(offset: 0, count: -1) }
    }

    @Test func closedReaderRefusesReads() async throws {
        let store = try await TestStore()
        defer { store.close() }
        try await store.engine.put("bucket", "k", "abc")
        let (_, reader) = try await store.engine.open(bucket: "bucket", key: "k")
        reader.close()
        reader.close()
        await expectStoreError(.invalidArgument) { try await reader.read(offset: 0, count: 1) }
    }

    @Test func readsAcrossSegments() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let partSize = 5 * 1024 * 1024
        let parts = [pseudoRandomBytes(partSize, seed: 1), pseudoRandomBytes(partSize + 3, seed: 2), pseudoRandomBytes(1000, seed: 3)]
        let whole = Array(parts.joined())
        try await store.engine.putMultipart("bucket", "k", parts)
        let (info, reader) = try await store.engine.open(bucket: "bucket", key: "k")
        defer { reader.close() }
        #expect(info.size == Int64(whole.count))
        #expect(reader.size == Int64(whole.count))
        #expect(try await reader.read(offset: 0, count: whole.count + 10) == whole)

        let first = partSize, second = 2 * partSize + 3  // where the second and third segments start
        let ranges: [(offset: Int, count: Int)] = [
            (0, 10),                           // inside the first
            (first - 10, 10),                  // ends at a boundary
            (first, 10),                       // starts at a boundary
            (first - 5, 10),                   // across the first boundary
            (second - 1, 2),                   // across the second
            (first - 1, second - first + 2),   // all of the middle segment and a byte either side
            (10, whole.count - 20),            // across every boundary
            (second, 1000),                    // exactly the last segment
            (whole.count - 5, 100),            // cut short by the end
        ]
        for range in ranges {
            let expected = Array(whole[range.offset..<min(whole.count, range.offset + range.count)])
            #expect(try await reader.read(offset: Int64(range.offset), count: range.count) == expected, "\(range)")
        }
        #expect(try await reader.read(offset: Int64(whole.count), count: 10) == [])

        // Odd-sized chunks, as a GET streams them, put the whole back together.
        var chunks: [UInt8] = []
        while chunks.count < whole.count {
            let chunk = try await reader.read(offset: Int64(chunks.count), count: 1_000_003)
            #expect(!chunk.isEmpty)
            if chunk.isEmpty { break }
            chunks += chunk
        }
        #expect(chunks == whole)
    }

    @Test func aReaderKeepsItsSegmentsWhenTheObjectGoes() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let partSize = 5 * 1024 * 1024
        let parts = [pseudoRandomBytes(partSize, seed: 4), pseudoRandomBytes(99, seed: 5)]
        try await store.engine.putMultipart("bucket", "k", parts)
        let (_, reader) = try await store.engine.open(bucket: "bucket", key: "k")
        defer { reader.close() }
        #expect(try await store.engine.delete(bucket: "bucket", key: "k"))
        #expect(try store.directory.blobFiles().isEmpty)
        #expect(try await reader.read(offset: Int64(partSize - 2), count: 4) == Array(Array(parts.joined())[(partSize - 2)..<(partSize + 2)]))
    }
}

@Suite struct ManySegmentReaderTests {
    @Test func aManyPartObjectOpensItsFilesAsReadsReachThemAndKeepsThemThroughADelete() async throws {
        let store = try await TestStore()
        defer { store.close() }
        let partSize = 5 * 1024 * 1024
        let count = StorageEngine.eagerSegmentLimit + 4
        // Each part made just before it is written and regenerated to check it: the test never
        // holds the whole object (other suites measure the process's peak memory meanwhile).
        func part(_ index: Int) -> [UInt8] { pseudoRandomBytes(index == count - 1 ? 777 : partSize, seed: UInt64(index + 10)) }
        let engine = store.engine
        let upload = try await engine.createMultipartUpload(bucket: "bucket", key: "many", metadata: ObjectMetadata())
        var completed: [CompletedPart] = []
        for index in 0..<count {
            let sink = try await engine.beginPartUpload(bucket: "bucket", key: "many", uploadId: upload.uploadId, computesSHA256: false)
            try await sink.write(part(index))
            let stored = try await engine.commitPart(sink, bucket: "bucket", key: "many", uploadId: upload.uploadId,
                                                     partNumber: index + 1, checksumSHA256: nil)
            completed.append(CompletedPart(partNumber: index + 1, etag: stored.etag))
        }
        _ = try await engine.completeMultipartUpload(bucket: "bucket", key: "many", uploadId: upload.uploadId, parts: completed)
        #expect(try store.directory.blobFiles().count == count)

        let (_, reader) = try await engine.open(bucket: "bucket", key: "many")
        #expect(reader.openFileCount == 0)
        #expect(engine.pins.pinnedCount == count)
        // Deleted while the reader is open: its files stay until it is closed.
        try await engine.delete(bucket: "bucket", key: "many")
        #expect(try store.directory.blobFiles().count == count)
        for index in 0..<count {
            let expected = part(index)
            let read = try await reader.read(offset: Int64(index * partSize), count: expected.count)
            #expect(read == expected, "part \(index + 1)")
            #expect(reader.openFileCount <= ObjectReader.openFilesLimit)
        }
        // A read across a boundary, back at the start after the first files were closed.
        let boundary = try await reader.read(offset: Int64(partSize - 2), count: 4)
        #expect(boundary == Array(part(0).suffix(2)) + Array(part(1).prefix(2)))
        reader.close()
        #expect(reader.openFileCount == 0)
        #expect(store.engine.pins.pinnedCount == 0)
        // The removal that waited for the reader happens now (off the caller's thread).
        var left = try store.directory.blobFiles().count
        for _ in 0..<100 where left > 0 {
            try await Task.sleep(for: .milliseconds(20))
            left = try store.directory.blobFiles().count
        }
        #expect(left == 0)
    }

    @Test func pinsCountReadersAndReleaseWaitingRemovals() {
        let pins = BlobPins()
        #expect(pins.removable(["a", "b"]) == ["a", "b"])
        pins.pin(["a", "b"])
        pins.pin(["a"])
        #expect(pins.removable(["a", "b", "c"]) == ["c"])
        #expect(pins.unpin(["a", "b"]) == ["b"])  // "a" is still held by the second reader
        #expect(pins.unpin(["a"]) == ["a"])
        #expect(pins.unpin(["a"]) == [])
        #expect(pins.pinnedCount == 0)
    }
}
