import Foundation
import SigV4
import Testing

import Events
@testable import SQS

/// `SQSQueue` against moto's server (an SQS implementation no one here wrote),
/// started by each test on a free port of 127.0.0.1.
@Suite("SQSQueue against moto", .enabled(if: !MotoServer.skipped, "moto_server is not installed (pip install 'moto[server]'), or HOIST_SKIP_MOTO=1"))
struct SQSQueueMotoTests {
    /// moto checks no signatures; these only need to be well-formed.
    static let credentials = SigV4Credentials(accessKeyId: "AKIAHOISTTEST0000000", secretAccessKey: "moto-does-not-check-this-secret-000000000")
    static let region = "us-east-1"

    static func createQueue(_ moto: MotoServer, _ name: String, attributes: [String: String] = [:]) async throws -> SQSQueue {
        try await SQSQueue.create(name: "\(name)-\(UUID().uuidString.prefix(8).lowercased())", attributes: attributes,
                                  endpoint: moto.endpoint, region: region, credentials: credentials)
    }

    /// An S3 `ObjectCreated:Put` notification, as S3 sends it to SQS.
    static func s3Event(key: String, size: Int = 1234) -> String {
        let record: [String: Any] = [
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-11-29T20:00:00.000Z", "eventName": "ObjectCreated:Put",
            "s3": [
                "s3SchemaVersion": "1.0", "configurationId": "hoist-uploads",
                "bucket": ["name": "article-images", "arn": "arn:aws:s3:::article-images"],
                "object": ["key": key, "size": size, "eTag": "0123456789abcdef0123456789abcdef", "sequencer": "0055AED6DCD90281E5"],
            ] as [String: Any],
        ]
        let data = (try? JSONSerialization.data(withJSONObject: ["Records": [record]], options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The object key in an S3 event body.
    static func key(in body: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let records = object["Records"] as? [[String: Any]], let s3 = records.first?["s3"] as? [String: Any],
              let item = s3["object"] as? [String: Any] else { return nil }
        return item["key"] as? String
    }

    /// Receives until `count` messages arrived or `attempts` long polls came back empty-handed.
    static func receive(_ queue: SQSQueue, count: Int, visibility: Int = 30, attempts: Int = 3) async throws -> [QueueMessage] {
        var got: [QueueMessage] = []
        var misses = 0
        while got.count < count && misses < attempts {
            let batch = try await queue.receive(maxMessages: 10, wait: .seconds(1), visibilityTimeout: visibility)
            if batch.isEmpty { misses += 1 }
            got += batch
        }
        return got
    }

    @Test("send, long-poll receive, receive count, visibility, delete, depth")
    func lifecycle() async throws {
        try await MotoServer.run { moto in
            let queue = try await Self.createQueue(moto, "events")
            #expect(try await queue.statistics() == QueueStatistics(depth: 0, oldestAge: nil))

            // A long poll on an empty queue waits, then answers with nothing.
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await queue.receive(maxMessages: 10, wait: .seconds(2), visibilityTimeout: 30).isEmpty)
            #expect(clock.now - start >= .milliseconds(1500))

            // A long poll answers as soon as a message arrives, well before its wait is over.
            let first = Self.s3Event(key: "articles/a/raw/first.png")
            let pollStart = clock.now
            async let sent: String = {
                try await Task.sleep(for: .seconds(1))
                return try await queue.send(first)
            }()
            let arrived = try await queue.receive(maxMessages: 1, wait: .seconds(15), visibilityTimeout: 30)
            let firstId = try await sent
            #expect(clock.now - pollStart < .seconds(12))
            try #require(arrived.count == 1)
            #expect(arrived[0].id == firstId)
            #expect(arrived[0].body == first)
            #expect(arrived[0].receiveCount == 1)
            let sentAt = try #require(arrived[0].sentAt)
            #expect(abs(sentAt.timeIntervalSinceNow) < 60)
            try await queue.delete(arrived[0])

            // Two more: both received (count 1), then hidden, still counted in the depth.
            let keys = ["articles/b/raw/ü ñ+1.jpg", "articles/c/raw/plain.webp"]
            for key in keys { try await queue.send(Self.s3Event(key: key)) }
            #expect(try await queue.statistics().depth == 2)
            let batch = try await Self.receive(queue, count: 2)
            #expect(Set(batch.compactMap { Self.key(in: $0.body) }) == Set(keys))
            #expect(batch.allSatisfy { $0.receiveCount == 1 })
            #expect(try await queue.statistics().depth == 2, "in-flight messages count in the depth")
            #expect(try await queue.receive(maxMessages: 10, wait: .seconds(1), visibilityTimeout: 30).isEmpty,
                    "received messages stay hidden for their visibility timeout")

            // Visibility 0: the message comes back at once, its receive count 2, with a new receipt handle.
            let retried = try #require(batch.first)
            try await queue.changeVisibility(retried, timeout: 0)
            let again = try await queue.receive(maxMessages: 10, wait: .seconds(2), visibilityTimeout: 30)
            try #require(again.count == 1)
            #expect(again[0].id == retried.id)
            #expect(again[0].body == retried.body)
            #expect(again[0].receiveCount == 2)
            #expect(again[0].receiptHandle != retried.receiptHandle)

            try await queue.delete(again[0])
            try await queue.delete(batch[1])
            #expect(try await queue.statistics().depth == 0)
            #expect(try await queue.receive(maxMessages: 10, wait: .seconds(1), visibilityTimeout: 0).isEmpty)
        }
    }

    @Test("a message never deleted goes to the dead-letter queue after 2 receives; a deleted one does not")
    func deadLetter() async throws {
        try await MotoServer.run { moto in
            let dlq = try await Self.createQueue(moto, "events-dlq")
            let arn = try #require(try await dlq.attributes(["QueueArn"])["QueueArn"])
            let policy = #"{"deadLetterTargetArn":"\#(arn)","maxReceiveCount":"2"}"#
            let queue = try await Self.createQueue(moto, "events", attributes: ["RedrivePolicy": policy, "VisibilityTimeout": "30"])
            let redrive = try await queue.attributes(["RedrivePolicy"])["RedrivePolicy"]
            #expect(redrive?.contains(arn) == true)

            let poison = Self.s3Event(key: "articles/p/raw/poison.png")
            let poisonId = try await queue.send(poison)
            let good = Self.s3Event(key: "articles/g/raw/good.png")
            try await queue.send(good)

            // The worker fails on the poison message twice, letting it come back at once each time.
            for attempt in 1...2 {
                let got = try await Self.receive(queue, count: attempt == 1 ? 2 : 1, visibility: 30)
                let bad = try #require(got.first { $0.id == poisonId })
                #expect(bad.receiveCount == attempt)
                try await queue.changeVisibility(bad, timeout: 0)
                for message in got where message.id != poisonId { try await queue.delete(message) }
            }
            // Received twice already: the next receive moves it to the dead-letter queue instead.
            #expect(try await queue.receive(maxMessages: 10, wait: .seconds(2), visibilityTimeout: 30).isEmpty)
            #expect(try await queue.statistics().depth == 0)

            let dead = try await Self.receive(dlq, count: 1)
            try #require(dead.count == 1)
            #expect(dead[0].id == poisonId)
            #expect(dead[0].body == poison)
            #expect(Self.key(in: dead[0].body) == "articles/p/raw/poison.png")
            #expect(try await dlq.statistics().depth == 1)
            try await dlq.delete(dead[0])
            #expect(try await dlq.statistics().depth == 0)
        }
    }

    @Test("errors: missing queue, bad receipt handle, out-of-range parameter")
    func errors() async throws {
        try await MotoServer.run { moto in
            let queue = try await Self.createQueue(moto, "errors")
            let missing = try SQSQueue(queueURL: "\(moto.endpoint)/123456789012/no-such-queue-\(UUID().uuidString.prefix(8))",
                                       region: Self.region, credentials: Self.credentials)
            await #expect(throws: SQSError.self) { _ = try await missing.receive(maxMessages: 1, wait: .zero, visibilityTimeout: 0) }
            do {
                _ = try await missing.statistics()
                Issue.record("a missing queue answered")
            } catch let error as SQSError {
                #expect(error.code == .queueDoesNotExist)
                #expect(error.status == 400)
                #expect(error.action == "GetQueueAttributes")
                #expect(error.description.contains("no-such-queue"))
                #expect(!error.description.contains(Self.credentials.secretAccessKey))
            }

            let bogus = QueueMessage(id: "x", receiptHandle: "not-a-receipt-handle", body: "", receiveCount: 1, sentAt: nil)
            do {
                try await queue.delete(bogus)
                Issue.record("a bogus receipt handle was accepted")
            } catch let error as SQSError {
                #expect(error.code == .receiptHandleIsInvalid)
                #expect(!error.message.isEmpty)
            }
            do {
                _ = try await queue.receive(maxMessages: 11, wait: .zero, visibilityTimeout: 0)
                Issue.record("11 messages at once were accepted")
            } catch let error as SQSError {
                #expect(error.code == .invalidParameterValue)
            }
        }
    }
}

/// What `SQSQueue` does without a server: queue URLs, error replies.
@Suite("SQSQueue parsing")
struct SQSQueueParsingTests {
    static let credentials = SQSQueueMotoTests.credentials

    @Test("queue URLs: AWS and local accepted, others refused with InvalidQueueURL")
    func queueURLs() throws {
        let aws = try SQSQueue(queueURL: "https://sqs.eu-west-1.amazonaws.com/123456789012/uploads", region: "eu-west-1",
                               credentials: Self.credentials)
        #expect(aws.endpoint == "https://sqs.eu-west-1.amazonaws.com")
        #expect(aws.host == "sqs.eu-west-1.amazonaws.com")
        #expect(aws.region == "eu-west-1")
        let local = try SQSQueue(queueURL: "http://127.0.0.1:5000/123456789012/events", region: "us-east-1", credentials: Self.credentials)
        #expect(local.host == "127.0.0.1:5000")
        #expect(try SQSQueue(queueURL: "https://sqs.us-east-1.amazonaws.com:443/1/q", region: "us-east-1",
                             credentials: Self.credentials).host == "sqs.us-east-1.amazonaws.com")
        for bad in ["sqs.us-east-1.amazonaws.com/1/q", "ftp://host/1/q", "http://127.0.0.1:5000", "http://127.0.0.1:5000/", "http:///1/q",
                    "http://user@host/1/q", "http://host/1/q?x=1"] {
            #expect(throws: SQSError.self, "\(bad)") {
                _ = try SQSQueue(queueURL: bad, region: "us-east-1", credentials: Self.credentials)
            }
        }
        do {
            _ = try SQSQueue(queueURL: "http://127.0.0.1:5000", region: "us-east-1", credentials: Self.credentials)
        } catch let error as SQSError {
            #expect(error.code == .invalidQueueURL)
            #expect(error.status == nil)
        }
    }

    @Test("error replies: code from __type, x-amzn-query-error, or the status")
    func errorReplies() {
        let json = Data(#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#.utf8)
        let error = SQSQueue.Call.error(action: "ReceiveMessage", queue: "q", status: 400, body: json, requestId: "rid", queryError: nil)
        #expect(error.code == .queueDoesNotExist)
        #expect(error.message == "The specified queue does not exist.")
        #expect(error.description == "SQS ReceiveMessage q failed: HTTP 400 QueueDoesNotExist: The specified queue does not exist. (request id rid)")

        let capital = Data(#"{"__type":"AWS.SimpleQueueService.NonExistentQueue","Message":"gone"}"#.utf8)
        let legacy = SQSQueue.Call.error(action: "DeleteMessage", queue: "q", status: 400, body: capital, requestId: nil, queryError: nil)
        #expect(legacy.code == .queueDoesNotExist)
        #expect(legacy.message == "gone")

        let header = SQSQueue.Call.error(action: "DeleteMessage", queue: "q", status: 400, body: Data(), requestId: nil,
                                         queryError: "ReceiptHandleIsInvalid;Sender")
        #expect(header.code == .receiptHandleIsInvalid)
        let bare = SQSQueue.Call.error(action: "SendMessage", queue: "q", status: 503, body: Data("<html>busy</html>".utf8), requestId: nil, queryError: nil)
        #expect(bare.code.rawValue == "HTTP503")
        #expect(bare.message.contains("busy"))
    }

    @Test("MD5 of a body, as SQS computes MD5OfBody")
    func md5() {
        #expect(SQSQueue.md5Hex("") == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(SQSQueue.md5Hex("ü") == "c03410a5204b21cd8229ff754688d743", "over the UTF-8 bytes")
        #expect(SQSQueue.md5Hex("The quick brown fox jumps over the lazy dog") == "9e107d9d372bb6826bd81d3542a419d6")
    }
}
