import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
@testable import ObjectStore
import ObjectStoreEngine
import SigV4
import Testing

/// `PutBucketLogging` / `GetBucketLogging`, and the access log records of requests, driven in-process.
@Suite("S3 bucket logging")
struct S3ResponderLoggingTests {
    typealias T = S3ServerTests

    /// A fresh store whose responder records into `accessLog` (flushed by the tests, not on a timer).
    static func makeApp() throws -> (some ApplicationProtocol, StorageEngine, AccessLogService) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-logging-test-\(UUID().uuidString)")
        let engine = try StorageEngine(directory: directory)
        let accessLog = AccessLogService(engine: engine, configuration: .init(interval: .seconds(3600)), logger: Logger(label: "test"))
        let app = Application(responder: S3Responder(engine: engine, credentials: [T.credentials], accessLog: accessLog))
        return (app, engine, accessLog)
    }

    static func loggingXML(bucket: String, prefix: String) -> [UInt8] {
        Array("""
            <BucketLoggingStatus xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LoggingEnabled>\
            <TargetBucket>\(bucket)</TargetBucket><TargetPrefix>\(prefix)</TargetPrefix></LoggingEnabled></BucketLoggingStatus>
            """.utf8)
    }

    /// The log objects under `prefix` in `bucket`, concatenated in key order, split into lines.
    static func deliveredLines(_ engine: StorageEngine, bucket: String, prefix: String) async throws -> (keys: [String], lines: [String]) {
        let page = try await engine.list(bucket: bucket, prefix: prefix, delimiter: nil, after: nil, maxKeys: 1000)
        var keys: [String] = [], text = ""
        for entry in page.entries {
            guard case .object(let info) = entry else { continue }
            keys.append(info.key)
            #expect(info.metadata.contentType == "text/plain")
            let (_, reader) = try await engine.open(bucket: bucket, key: info.key)
            text += String(decoding: try await reader.read(offset: 0, count: Int(info.size)), as: UTF8.self)
            reader.close()
        }
        #expect(text.isEmpty || text.hasSuffix("\n"))
        return (keys, text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init))
    }

    @Test("put, get and turn off the logging configuration; S3's errors")
    func configuration() async throws {
        let (app, _, _) = try Self.makeApp()
        try await app.test(.router) { client in
            try await T.send(client, .put, "/src")
            let off = try await T.send(client, .get, "/src", query: [("logging", "")])
            #expect(off.status == .ok)
            #expect(String(buffer: off.body).contains("<BucketLoggingStatus xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"))

            let missingTarget = try await T.send(client, .put, "/src", query: [("logging", "")], body: Self.loggingXML(bucket: "logs", prefix: "a/"))
            #expect(missingTarget.status == .badRequest)
            #expect(T.xmlCode(missingTarget) == "InvalidTargetBucketForLogging")
            try await T.send(client, .put, "/logs")
            for bad in ["<BucketLoggingStatus", "<Other/>", "<BucketLoggingStatus><LoggingEnabled><TargetPrefix>a</TargetPrefix></LoggingEnabled></BucketLoggingStatus>",
                        "<BucketLoggingStatus><LoggingEnabled><TargetBucket>logs</TargetBucket></LoggingEnabled></BucketLoggingStatus>"] {
                let malformed = try await T.send(client, .put, "/src", query: [("logging", "")], body: Array(bad.utf8))
                #expect(T.xmlCode(malformed) == "MalformedXML", "\(bad)")
            }
            let invalidUTF8 = try await T.send(client, .put, "/src", query: [("logging", "")], body: [0x3C, 0xFF, 0xFE, 0x3E])
            #expect(T.xmlCode(invalidUTF8) == "MalformedXML")
            let noBucket = try await T.send(client, .put, "/nope", query: [("logging", "")], body: Self.loggingXML(bucket: "logs", prefix: ""))
            #expect(T.xmlCode(noBucket) == "NoSuchBucket")
            #expect(T.xmlCode(try await T.send(client, .get, "/nope", query: [("logging", "")])) == "NoSuchBucket")

            #expect(try await T.send(client, .put, "/src", query: [("logging", "")], body: Self.loggingXML(bucket: "logs", prefix: "a/")).status == .ok)
            let on = String(buffer: try await T.send(client, .get, "/src", query: [("logging", "")]).body)
            #expect(on.contains("<LoggingEnabled><TargetBucket>logs</TargetBucket><TargetPrefix>a/</TargetPrefix></LoggingEnabled>"))

            // Not a way to delete the bucket.
            #expect(T.xmlCode(try await T.send(client, .delete, "/src", query: [("logging", "")])) == "MethodNotAllowed")
            #expect(try await T.send(client, .head, "/src").status == .ok)

            let empty = Array("<BucketLoggingStatus xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\" />".utf8)
            #expect(try await T.send(client, .put, "/src", query: [("logging", "")], body: empty).status == .ok)
            #expect(String(buffer: try await T.send(client, .get, "/src", query: [("logging", "")]).body).contains("<BucketLoggingStatus xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"))
        }
    }

    @Test("a flush delivers one line per request, with S3's fields and no secret or signature")
    func records() async throws {
        let (app, engine, accessLog) = try Self.makeApp()
        try await app.test(.router) { client in
            try await T.send(client, .put, "/src")
            try await T.send(client, .put, "/logs")
            try await T.send(client, .put, "/src/before-logging.txt", body: Array("x".utf8))
            try await T.send(client, .put, "/src", query: [("logging", "")], body: Self.loggingXML(bucket: "logs", prefix: "access/"))

            #expect(try await T.send(client, .put, "/src/dir/a b.txt", headers: [("User-Agent", "test-agent/1.0")], body: Array("hello".utf8)).status == .ok)
            let url = try T.signer.presign(method: "GET", scheme: "http", host: "localhost", path: "/src/dir/a b.txt", expires: 60, date: Date())
            let presignedSignature = try #require(URLComponents(string: url.url)?.queryItems?.first { $0.name == "X-Amz-Signature" }?.value)
            let get = try await client.executeRequest(uri: String(url.url.dropFirst("http://localhost".count)), method: .get, headers: [:], body: nil)
            #expect(get.status == .ok)

            let wrong = SigV4Signer(credentials: SigV4Credentials(accessKeyId: T.credentials.accessKeyId, secretAccessKey: "wrong-secret"), region: "us-east-1")
            let refused = wrong.signHeaders(method: "GET", host: "localhost", path: "/src/dir/a b.txt", payloadHash: PayloadHash.emptySHA256, date: Date())
            var fields: HTTPFields = [:]
            for (name, value) in refused.headers where name.lowercased() != "host" { fields.append(HTTPField(name: .init(name)!, value: value)) }
            let refusedSignature = try #require(refused.headers.first { $0.0 == "Authorization" }?.1.components(separatedBy: "Signature=").last)
            #expect(T.xmlCode(try await client.executeRequest(uri: "/src/dir/a%20b.txt", method: .get, headers: fields, body: nil)) == "SignatureDoesNotMatch")

            #expect(try await T.send(client, .head, "/src/missing").status == .notFound)
            #expect(try await T.send(client, .get, "/src/dir/a b.txt", sign: false).status == .forbidden)
            // Another bucket without logging: not recorded.
            try await T.send(client, .get, "/logs", query: [("list-type", "2")])

            await accessLog.flush()
            let (keys, lines) = try await Self.deliveredLines(engine, bucket: "logs", prefix: "access/")
            #expect(keys.count == 1)
            let key = try #require(keys.first)
            #expect(key.wholeMatch(of: /access\/\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}/) != nil)
            #expect(lines.count == 6, "\(lines)")
            for line in lines {
                #expect(!line.contains(T.credentials.secretAccessKey))
                #expect(!line.contains("wrong-secret"))
                #expect(!line.contains(presignedSignature))
                #expect(!line.contains(refusedSignature))
            }
            let records = try lines.map { try #require(Self.fields(of: $0)) }
            for record in records {
                #expect(record.count == 26)
                #expect(record[1] == "src")
                #expect(record[2].wholeMatch(of: /\[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\]/) != nil)
                #expect(record[5].count == 16)
            }
            let key1 = T.credentials.accessKeyId
            // operation, key, status, error code, requester, authentication type
            #expect(records[0][6] == "REST.PUT.LOGGING_STATUS")
            #expect([records[1][6], records[1][7], records[1][9], records[1][10], records[1][4], records[1][21]]
                    == ["REST.PUT.OBJECT", "dir/a%20b.txt", "200", "-", key1, "AuthHeader"])
            #expect(records[1][8] == "\"PUT /src/dir/a%20b.txt HTTP/1.1\"")
            #expect(records[1][12] == "5")  // object size
            #expect(records[1][16] == "\"test-agent/1.0\"")
            #expect(records[1][19] == "SigV4")
            #expect([records[2][6], records[2][7], records[2][9], records[2][10], records[2][4], records[2][21]]
                    == ["REST.GET.OBJECT", "dir/a%20b.txt", "200", "-", key1, "QueryString"])
            #expect(records[2][8].contains("X-Amz-Signature=REDACTED"))
            #expect(records[2][8].contains("X-Amz-Credential=\(key1)"))
            #expect(records[2][11] == "5")  // bytes sent
            #expect([records[3][6], records[3][9], records[3][10], records[3][4]] == ["REST.GET.OBJECT", "403", "SignatureDoesNotMatch", "-"])
            #expect([records[4][6], records[4][7], records[4][9], records[4][10], records[4][11]] == ["REST.HEAD.OBJECT", "missing", "404", "NoSuchKey", "-"])
            #expect([records[5][6], records[5][9], records[5][10], records[5][4], records[5][19], records[5][21]]
                    == ["REST.GET.OBJECT", "403", "AccessDenied", "-", "-", "-"])

            // Nothing left: a second flush writes nothing.
            await accessLog.flush()
            #expect(try await Self.deliveredLines(engine, bucket: "logs", prefix: "access/").keys.count == 1)
        }
    }

    @Test("hostile keys and user agents give exactly one line per request")
    func hostile() async throws {
        let (app, engine, accessLog) = try Self.makeApp()
        try await app.test(.router) { client in
            try await T.send(client, .put, "/src")
            try await T.send(client, .put, "/src", query: [("logging", "")], body: Self.loggingXML(bucket: "src", prefix: "logs/"))
            let key = "a \"quoted\" key\nwith a newline\r\n- - [01/Jan/2000:00:00:00 +0000]"
            let agent = "evil\" 200 - \"forged\\ \u{85}\u{2028}end"
            #expect(try await T.send(client, .put, "/src/\(key)", headers: [("User-Agent", agent), ("Referer", "http://x/?X-Amz-Signature=abc&b=1")],
                                     body: Array("1".utf8)).status == .ok)
            #expect(try await T.send(client, .get, "/src/\(key)", headers: [("User-Agent", agent)]).status == .ok)
            await accessLog.flush()
            let (_, lines) = try await Self.deliveredLines(engine, bucket: "src", prefix: "logs/")
            #expect(lines.count == 3)
            let records = try lines.map { try #require(Self.fields(of: $0)) }
            for record in records { #expect(record.count == 26) }
            #expect(records[1][7] == S3URIEncoding.encodePath(key))
            #expect(records[1][7].removingPercentEncoding == key)
            #expect(records[1][16] == "\"evil\\\" 200 - \\\"forged\\\\ \\xC2\\x85\\xE2\\x80\\xA8end\"")
            #expect(records[1][15] == "\"http://x/?X-Amz-Signature=REDACTED&b=1\"")
            #expect(records[2][6] == "REST.GET.OBJECT")
        }
    }

    /// Splits a log line into its fields: `[…]` and `"…"` (with `\` escapes) are one field each.
    static func fields(of line: String) -> [String]? {
        var fields: [String] = [], current = "", index = line.startIndex
        while index < line.endIndex {
            let c = line[index]
            if c == " " {
                fields.append(current)
                current = ""
                index = line.index(after: index)
                continue
            }
            if current.isEmpty && (c == "[" || c == "\"") {
                let close: Character = c == "[" ? "]" : "\""
                current.append(c)
                index = line.index(after: index)
                while index < line.endIndex, line[index] != close {
                    if line[index] == "\\", close == "\"" {
                        current.append(line[index])
                        index = line.index(after: index)
                        guard index < line.endIndex else { return nil }
                    }
                    current.append(line[index])
                    index = line.index(after: index)
                }
                guard index < line.endIndex else { return nil }
                current.append(close)
                index = line.index(after: index)
                continue
            }
            current.append(c)
            index = line.index(after: index)
        }
        fields.append(current)
        return fields
    }
}
