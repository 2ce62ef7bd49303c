import Foundation
import Synchronization
import Testing
@testable import ObjectStoreEngine

/// A clock the tests set: writes get deterministic `lastModified` dates.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    /// Starts at 2025-01-02T03:04:05.750Z: the fraction checks truncation to seconds.
    init(_ start: Date = Date(timeIntervalSince1970: 1_735_787_045.75)) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 += seconds }
    }

    /// The closure to hand to ``StorageEngine/init(directory:clock:)``.
    var function: @Sendable () -> Date {
        { [self] in self.now }
    }
}

/// A fresh folder under the system's temporary directory, removed by ``remove()``.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("hoist-engine-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    var path: String { url.path }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }

    /// The blob files in the store's blob shards.
    func blobFiles() throws -> [String] {
        let blobs = url.appendingPathComponent("blobs").path
        return try FileManager.default.contentsOfDirectory(atPath: blobs).flatMap { shard in
            try FileManager.default.contentsOfDirectory(atPath: blobs + "/" + shard).map { shard + "/" + $0 }
        }
    }

    /// The names of the blob files, without their shard folders.
    func blobNames() throws -> Set<String> {
        Set(try blobFiles().map { String($0.split(separator: "/").last ?? "") })
    }

    /// The file of blob `name`.
    func blobPath(_ name: String) -> String {
        url.appendingPathComponent("blobs/\(name.prefix(2))/\(name)").path
    }

    /// The files in the store's tmp folder.
    func tmpFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url.appendingPathComponent("tmp").path)
    }
}

/// An engine over a fresh directory with a test clock; call ``close()`` at the end.
struct TestStore {
    let directory: TemporaryDirectory
    let clock: TestClock
    let engine: StorageEngine

    init(bucket: String? = "bucket") async throws {
        directory = try TemporaryDirectory()
        clock = TestClock()
        engine = try StorageEngine(directory: directory.url, clock: clock.function)
        if let bucket { try await engine.createBucket(bucket) }
    }

    func close() {
        directory.remove()
    }
}

extension StorageEngine {
    /// Uploads `bytes` in one write and commits them.
    @discardableResult
    func put(
        _ bucket: String,
        _ key: String,
        _ bytes: [UInt8],
        metadata: ObjectMetadata = ObjectMetadata(),
        condition: WriteCondition = .none
    ) async throws -> ObjectInfo {
        let sink = try await beginUpload(bucket: bucket)
        try await sink.write(bytes)
        return try await commit(sink, bucket: bucket, key: key, metadata: metadata, condition: condition)
    }

    /// Uploads `text` as UTF-8 and commits it.
    @discardableResult
    func put(_ bucket: String, _ key: String, _ text: String, condition: WriteCondition = .none) async throws -> ObjectInfo {
        try await put(bucket, key, Array(text.utf8), condition: condition)
    }

    /// Uploads `parts` as a multipart upload (parts numbered from 1) and completes it: an object in segments.
    @discardableResult
    func putMultipart(_ bucket: String, _ key: String, _ parts: [[UInt8]]) async throws -> ObjectInfo {
        let upload = try await createMultipartUpload(bucket: bucket, key: key, metadata: ObjectMetadata())
        var completed: [CompletedPart] = []
        for (index, part) in parts.enumerated() {
            let sink = try await beginUpload(bucket: bucket)
            try await sink.write(part)
            let info = try await commitPart(sink, bucket: bucket, key: key, uploadId: upload.uploadId, partNumber: index + 1)
            completed.append(CompletedPart(partNumber: index + 1, etag: info.etag))
        }
        return try await completeMultipartUpload(bucket: bucket, key: key, uploadId: upload.uploadId, parts: completed)
    }

    /// All of the object's bytes.
    func bytes(_ bucket: String, _ key: String) async throws -> [UInt8] {
        let (_, reader) = try await open(bucket: bucket, key: key)
        defer { reader.close() }
        return try await reader.read(offset: 0, count: Int(reader.size))
    }

    /// The object's bytes as UTF-8 text.
    func text(_ bucket: String, _ key: String) async throws -> String {
        String(decoding: try await bytes(bucket, key), as: UTF8.self)
    }

    /// Every entry name of a listing, paging with `after` through pages of `pageSize`.
    func allNames(_ bucket: String, prefix: String = "", delimiter: String? = nil, pageSize: Int) async throws -> (names: [String], pages: Int) {
        var names: [String] = []
        var after: String?
        var pages = 0
        while true {
            let page = try await list(bucket: bucket, prefix: prefix, delimiter: delimiter, after: after, maxKeys: pageSize)
            pages += 1
            names += page.entries.map(\.name)
            guard page.isTruncated, let last = page.entries.last else { return (names, pages) }
            after = last.name
        }
    }
}

/// `count` bytes of a xorshift sequence: no period a misplaced read could hide in.
func pseudoRandomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        var index = 0
        while index < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            var word = state
            for _ in 0..<min(8, count - index) {
                buffer[index] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                index += 1
            }
        }
        initialized = count
    }
}

/// Checks that `body` throws a ``StoreError`` with `code`.
func expectStoreError<T>(
    _ code: StoreError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> T
) {
    do {
        _ = try body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Checks that the async `body` throws a ``StoreError`` with `code`.
func expectStoreError<T>(
    _ code: StoreError.Code,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        Issue.record("expected \(code), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
    }
}

/// Runs `body(index)` for `index` in `0..<count` as concurrent child tasks, and waits for all of them.
///
/// The engine's calls suspend on SQLite and the I/O thread pool, so the tasks'
/// calls interleave and racing writers really race.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) async -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        for index in 0..<count {
            group.addTask { await body(index) }
        }
    }
}
