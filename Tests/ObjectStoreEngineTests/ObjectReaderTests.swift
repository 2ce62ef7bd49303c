import Testing
import ObjectStoreEngine

@Suite struct ObjectReaderTests {
    @Test func readsRanges() throws {
        let store = try TestStore()
        defer { store.close() }
        let bytes = (0..<1000).map { UInt8($0 % 251) }
        try store.engine.put("bucket", "k", bytes)
        let (info, reader) = try store.engine.open(bucket: "bucket", key: "k")
        defer { reader.close() }
        #expect(reader.size == 1000)
        #expect(info.size == 1000)
        #expect(try reader.read(offset: 0, count: 10) == Array(bytes[0..<10]))
        #expect(try reader.read(offset: 990, count: 100) == Array(bytes[990...]))  // fewer only at the end
        #expect(try reader.read(offset: 1000, count: 10) == [])
        #expect(try reader.read(offset: 5000, count: 10) == [])
        #expect(try reader.read(offset: 3, count: 0) == [])
        expectStoreError(.invalidArgument) { try reader.read(offset: -1, count: 1) }
        expectStoreError(.invalidArgument) { try reader.read(offset: 0, count: -1) }
    }

    @Test func closedReaderRefusesReads() throws {
        let store = try TestStore()
        defer { store.close() }
        try store.engine.put("bucket", "k", "abc")
        let (_, reader) = try store.engine.open(bucket: "bucket", key: "k")
        reader.close()
        reader.close()
        expectStoreError(.invalidArgument) { try reader.read(offset: 0, count: 1) }
    }
}
