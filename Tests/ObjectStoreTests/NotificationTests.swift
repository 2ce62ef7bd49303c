import Events
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ObjectStore
import ObjectStoreEngine
import Testing

/// `?notification` on a bucket, and the events its requests then produce.
@Suite("S3 event notifications")
struct NotificationTests {
    static func makeApp() throws -> (some ApplicationProtocol, StorageEngine) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-store-test-\(UUID().uuidString)")
        let engine = try StorageEngine(directory: directory)
        return (Application(responder: S3Responder(engine: engine, credentials: [S3ServerTests.credentials])), engine)
    }

    static let configuration = """
        <NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\
        <QueueConfiguration><Id>images</Id><Queue>arn:aws:sqs:us-east-1:123456789012:uploads</Queue>\
        <Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:Delete</Event>\
        <Filter><S3Key><FilterRule><Name>prefix</Name><Value>articles/</Value></FilterRule>\
        <FilterRule><Name>Suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter></QueueConfiguration>\
        </NotificationConfiguration>
        """

    @Test("configuration round trip; PUT, copy and DELETE through HTTP emit events")
    func roundTripAndEvents() async throws {
        let (app, engine) = try Self.makeApp()
        try await app.test(.router) { client in
            try await S3ServerTests.send(client, .put, "/bkt")
            let empty = String(buffer: try await S3ServerTests.send(client, .get, "/bkt", query: [("notification", "")]).body)
            #expect(empty.contains("<NotificationConfiguration"))
            #expect(!empty.contains("QueueConfiguration"))

            let put = try await S3ServerTests.send(client, .put, "/bkt", query: [("notification", "")], body: Array(Self.configuration.utf8))
            #expect(put.status == .ok)
            let stored = String(buffer: try await S3ServerTests.send(client, .get, "/bkt", query: [("notification", "")]).body)
            #expect(stored.contains("<Id>images</Id>"))
            #expect(stored.contains("<Queue>arn:aws:sqs:us-east-1:123456789012:uploads</Queue>"))
            #expect(stored.contains("<Event>s3:ObjectRemoved:Delete</Event>"))
            #expect(stored.contains("<Name>Prefix</Name><Value>articles/</Value>"))

            #expect(try await S3ServerTests.send(client, .put, "/bkt/articles/1/a b.jpg", body: Array("jpeg".utf8)).status == .ok)
            #expect(try await S3ServerTests.send(client, .put, "/bkt/articles/1/notes.txt", body: Array("txt".utf8)).status == .ok)
            #expect(try await S3ServerTests.send(client, .put, "/bkt/articles/2/c.jpg",
                                                 headers: [("x-amz-copy-source", "/bkt/articles/1/a%20b.jpg")]).status == .ok)
            #expect(try await S3ServerTests.send(client, .delete, "/bkt/articles/2/c.jpg").status == .noContent)
        }
        let queue = engine.outbox(queue: "uploads")
        var names: [String] = []
        var sawTestEvent = false
        while true {
            let messages = try await queue.receive(maxMessages: 10, wait: .zero, visibilityTimeout: 30)
            if messages.isEmpty { break }
            for message in messages {
                try await queue.delete(message)
                if S3EventNotification.isTestEvent(message.body) { sawTestEvent = true; continue }
                let record = try #require(S3EventNotification.decode(message.body)?.records.first)
                names.append("\(record.eventName) \(record.s3.object.decodedKey ?? "?")")
            }
        }
        #expect(sawTestEvent)
        #expect(names == ["ObjectCreated:Put articles/1/a b.jpg", "ObjectCreated:Copy articles/2/c.jpg", "ObjectRemoved:Delete articles/2/c.jpg"])
    }

    @Test("invalid configurations are refused with S3's codes")
    func invalid() async throws {
        let (app, _) = try Self.makeApp()
        try await app.test(.router) { client in
            try await S3ServerTests.send(client, .put, "/bkt")
            func code(_ xml: String) async throws -> String? {
                S3ServerTests.xmlCode(try await S3ServerTests.send(client, .put, "/bkt", query: [("notification", "")], body: Array(xml.utf8)))
            }
            let queue = "<Queue>arn:aws:sqs:us-east-1:1:q</Queue>"
            #expect(try await code("<NotificationConfiguration><QueueConfiguration>\(queue)<Event>s3:ObjectEaten:*</Event></QueueConfiguration></NotificationConfiguration>") == "InvalidArgument")
            #expect(try await code("<NotificationConfiguration><QueueConfiguration><Queue>not-an-arn</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration></NotificationConfiguration>") == "InvalidArgument")
            #expect(try await code("<NotificationConfiguration><QueueConfiguration>\(queue)</QueueConfiguration></NotificationConfiguration>") == "InvalidArgument")
            #expect(try await code("<NotificationConfiguration><TopicConfiguration><Topic>arn:aws:sns:us-east-1:1:t</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration></NotificationConfiguration>") == "NotImplemented")
            #expect(try await code("<Nope/>") == "MalformedXML")
            #expect(try await code("<NotificationConfiguration><QueueConfiguration>\(queue)<Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>middle</Name><Value>x</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>") == "InvalidArgument")
            // Nothing was stored by the refused requests.
            let stored = String(buffer: try await S3ServerTests.send(client, .get, "/bkt", query: [("notification", "")]).body)
            #expect(!stored.contains("QueueConfiguration"))
            #expect(S3ServerTests.xmlCode(try await S3ServerTests.send(client, .get, "/nobucket", query: [("notification", "")])) == "NoSuchBucket")
        }
    }
}
