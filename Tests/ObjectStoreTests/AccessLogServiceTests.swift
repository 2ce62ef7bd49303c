import Foundation
import Logging
@testable import ObjectStore
import ObjectStoreEngine
import ServiceLifecycle
import Testing

@Suite struct AccessLogServiceTests {
    static func record(_ n: Int, query: String = "") -> AccessLogRecord {
        AccessLogRecord(bucketOwner: "owner", bucket: "src", time: Date(timeIntervalSince1970: 1_549_411_238), remoteIP: "127.0.0.1",
                        requester: "AKID", requestId: "0000000000000001", operation: "REST.GET.OBJECT", key: "k\(n)", method: "GET",
                        rawPath: "/src/k\(n)", rawQuery: query, httpStatus: 200, errorCode: nil, bytesSent: 0, objectSize: 10,
                        totalTime: 3, turnaroundTime: 2, referrer: nil, userAgent: "ua", versionId: nil, hostId: "0000000000000001",
                        signatureVersion: "SigV4", authenticationType: "QueryString", hostHeader: "localhost:9000")
    }

    static func makeEngine() throws -> StorageEngine {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-access-log-\(UUID().uuidString)")
        return try StorageEngine(directory: directory)
    }

    static func logKeys(_ engine: StorageEngine) async throws -> [String] {
        try await engine.list(bucket: "logs", prefix: "", delimiter: nil, after: nil, maxKeys: 1000).entries.map(\.name)
    }

    @Test func lineFormat() {
        let line = Self.record(1, query: "X-Amz-Credential=AKID%2F20190206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=abcdef&x-amz-security-token=tok&Signature=v2&X%2DAmz%2DSignature=enc").line
        #expect(line == """
            owner src [06/Feb/2019:00:00:38 +0000] 127.0.0.1 AKID 0000000000000001 REST.GET.OBJECT k1 \
            "GET /src/k1?X-Amz-Credential=AKID%2F20190206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=REDACTED&x-amz-security-token=REDACTED&Signature=REDACTED&X%2DAmz%2DSignature=REDACTED HTTP/1.1" \
            200 - - 10 3 2 "-" "ua" - 0000000000000001 SigV4 - QueryString localhost:9000 - - -

            """)
    }

    @Test func bareFieldsHoldNoSpaceOrQuote() {
        #expect(AccessLogRecord.bare("host name\"%\n") == "host%20name%22%25%0A")
        #expect(AccessLogRecord.bare("") == "-")
        #expect(AccessLogRecord.bare(nil) == "-")
        #expect(AccessLogRecord.quoted("a\"b\\c\td\u{7F}") == "\"a\\\"b\\\\c\\x09d\\x7F\"")
    }

    @Test func objectKeyHasS3sShape() {
        let key = AccessLogService.objectKey(prefix: "p/", date: Date(timeIntervalSince1970: 1_549_411_238))
        #expect(key.wholeMatch(of: /p\/2019-02-06-00-00-38-[0-9A-F]{16}/) != nil)
    }

    @Test func fullBatchesAreDeliveredEarlyAndTheRestAtShutdown() async throws {
        let engine = try Self.makeEngine()
        try await engine.createBucket("logs")
        let service = AccessLogService(engine: engine, configuration: .init(interval: .seconds(3600), maximumBatchRecords: 3),
                                       logger: Logger(label: "test"))
        let target = BucketLogging(targetBucket: "logs", targetPrefix: "")
        let group = ServiceGroup(services: [service], logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            for n in 0..<3 { service.record(Self.record(n), to: target) }
            var keys: [String] = []
            for _ in 0..<200 {
                keys = try await Self.logKeys(engine)
                if !keys.isEmpty { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(keys.count == 1)
            service.record(Self.record(9), to: target)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(try await Self.logKeys(engine).count == 2)
    }

    @Test func memoryIsBoundedAndAGoneTargetDropsItsBatch() async throws {
        let engine = try Self.makeEngine()
        try await engine.createBucket("logs")
        let size = Self.record(0).line.utf8.count
        let service = AccessLogService(engine: engine, configuration: .init(interval: .seconds(3600), maximumBufferedBytes: size * 2),
                                       logger: Logger(label: "test"))
        for n in 0..<5 { service.record(Self.record(n), to: BucketLogging(targetBucket: "logs", targetPrefix: "")) }
        service.record(Self.record(0), to: BucketLogging(targetBucket: "gone", targetPrefix: ""))
        await service.flush()
        let keys = try await Self.logKeys(engine)
        #expect(keys.count == 1)
        let (info, reader) = try await engine.open(bucket: "logs", key: try #require(keys.first))
        defer { reader.close() }
        #expect(info.size == Int64(size * 2))
        // The buffer is empty again.
        service.record(Self.record(7), to: BucketLogging(targetBucket: "logs", targetPrefix: "again/"))
        await service.flush()
        #expect(try await Self.logKeys(engine).count == 2)
    }

    @Test func logObjectsInABucketThatEncryptsAreEncrypted() async throws {
        let engine = try Self.makeEngine()
        try await engine.createBucket("logs")
        try await engine.setDefaultEncryption("logs", true)
        let service = AccessLogService(engine: engine, logger: Logger(label: "test"))
        service.record(Self.record(1), to: BucketLogging(targetBucket: "logs", targetPrefix: ""))
        await service.flush()
        let key = try #require(try await Self.logKeys(engine).first)
        #expect(try await engine.head(bucket: "logs", key: key).metadata.serverSideEncryption == ObjectMetadata.aes256)
    }
}
