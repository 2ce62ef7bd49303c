import Auth
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import S3
import SigV4
import Synchronization
import Testing
import Uploads
@testable import UploadsAPI

/// Storage in memory: what the API asked, and the parts "uploaded" by the test.
final class MemoryMultipartStorage: MultipartStorage {
    struct Upload {
        var key: String
        var contentType: String
        var checksum: Bool
        var parts: [Int: S3Part] = [:]
        var completed: String?
    }
    let state = Mutex<(uploads: [String: Upload], next: Int, calls: [String])>(([:], 0, []))

    func create(key: String, contentType: String, checksumSHA256: Bool) async throws -> String {
        state.withLock { state in
            state.next += 1
            let id = "upload-\(state.next)"
            state.uploads[id] = Upload(key: key, contentType: contentType, checksum: checksumSHA256)
            state.calls.append("create \(key)")
            return id
        }
    }

    func noSuchUpload(_ key: String) -> S3ClientError {
        S3ClientError(operation: "test", bucket: "article-images", key: key, status: 404, code: .noSuchUpload, message: "gone")
    }

    func parts(key: String, uploadId: String) async throws -> [S3Part] {
        try state.withLock { state in
            state.calls.append("list \(uploadId)")
            guard let upload = state.uploads[uploadId], upload.key == key, upload.completed == nil else { throw noSuchUpload(key) }
            return upload.parts.values.sorted { $0.partNumber < $1.partNumber }
        }
    }

    func complete(key: String, uploadId: String, parts: [S3Part]) async throws -> String {
        try state.withLock { state in
            state.calls.append("complete \(uploadId)")
            guard var upload = state.uploads[uploadId], upload.key == key else { throw noSuchUpload(key) }
            if let done = upload.completed { return done }
            upload.completed = "etag-\(parts.count)"
            state.uploads[uploadId] = upload
            return "etag-\(parts.count)"
        }
    }

    func abort(key: String, uploadId: String) async throws {
        try state.withLock { state in
            state.calls.append("abort \(uploadId)")
            guard state.uploads[uploadId]?.key == key else { throw noSuchUpload(key) }
            state.uploads[uploadId] = nil
        }
    }

    /// The test's client PUTs a part.
    func put(_ uploadId: String, part: Int, size: Int64) {
        state.withLock { $0.uploads[uploadId]?.parts[part] = S3Part(partNumber: part, etag: "e\(part)", size: size) }
    }

    var calls: [String] { state.withLock { $0.calls } }
}

@Suite("Upload API: multipart uploads")
struct MultipartAPITests {
    static let MiB: Int64 = 1 << 20

    struct Setup {
        var app: any ApplicationProtocol
        var storage: MemoryMultipartStorage
        var records: SQLiteUploadRecordStore
    }

    static func setup(policy: UploadPolicy = UploadPolicy(maximumSize: 5 << 30), now: @escaping @Sendable () -> Date = { UploadsAPITests.now }) throws -> Setup {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-multipart-\(UUID().uuidString)/uploads.sqlite").path
        let records = try SQLiteUploadRecordStore(path: path)
        let storage = MemoryMultipartStorage()
        let target = StorageTarget(endpoint: try S3Endpoint(url: "http://127.0.0.1:9000"), bucket: "article-images",
                                   region: "us-east-1", credentials: UploadsAPITests.credentials)
        let service = UploadService(policy: policy, target: target, records: records, multipart: storage, clock: now)
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        UploadsAPI(service: service, verifier: FixedTokens(users: ["alice-token": "alice", "bob-token": "bob"])).addRoutes(to: router)
        return Setup(app: Application(router: router), storage: storage, records: records)
    }

    static func call(_ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil,
                     token: String = "alice-token") async throws -> TestResponse {
        try await client.executeRequest(uri: uri, method: method, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"],
                                        body: body.map { ByteBuffer(string: $0) })
    }

    static func json(_ response: TestResponse) -> [String: Any] { UploadsAPITests.json(response) }

    @Test("create → sign → list → complete: the part size, the signed lengths, the missing parts, the completion")
    func flow() async throws {
        let setup = try Self.setup()
        try await setup.app.test(.router) { client in
            let size = 20 * Self.MiB + 5
            let created = try await Self.call(client, .post, "/multipart-uploads", #"{"contentType":"image/png","size":\#(size)}"#)
            #expect(created.status == .ok)
            let body = Self.json(created)
            let id = try #require(body["uploadId"] as? String)
            let key = try #require(body["key"] as? String)
            let article = try #require(body["articleId"] as? String)
            #expect(key.hasPrefix("articles/\(article)/raw/") && key.hasSuffix(".png"))
            #expect(body["partSize"] as? Int == Int(8 * Self.MiB) && body["partCount"] as? Int == 3 && body["size"] as? Int == Int(size))
            #expect(body["expiresAt"] as? String == AMZDate(UploadsAPITests.now + 86_400).iso8601String)
            #expect(setup.storage.calls == ["create \(key)"])
            // Its record is a pending upload of the article, with the declared size.
            let record = try #require(try await setup.records.upload(key: key))
            #expect(record.status == .pending && record.size == size && record.owner == "alice")

            let signed = try await Self.call(client, .post, "/multipart-uploads/\(id)/parts", #"{"parts":[{"partNumber":1},{"partNumber":3}]}"#)
            #expect(signed.status == .ok)
            let parts = try #require(Self.json(signed)["parts"] as? [[String: Any]])
            #expect(parts.map { $0["partNumber"] as? Int } == [1, 3])
            #expect(parts.map { ($0["headers"] as? [String: String])?["Content-Length"] } == [String(8 * Self.MiB), String(4 * Self.MiB + 5)])
            let url = try #require(parts.first?["url"] as? String)
            #expect(url.contains("partNumber=1") && url.contains("uploadId=\(id)") && url.contains("X-Amz-SignedHeaders=content-length%3Bhost"))
            #expect(Self.json(signed)["expiresIn"] as? Int == 900)

            setup.storage.put(id, part: 1, size: 8 * Self.MiB)
            setup.storage.put(id, part: 3, size: 4 * Self.MiB + 5)
            let listed = try await Self.call(client, .get, "/multipart-uploads/\(id)/parts")
            #expect(listed.status == .ok)
            #expect(Self.json(listed)["missingParts"] as? [Int] == [2])
            #expect((Self.json(listed)["parts"] as? [[String: Any]])?.count == 2)

            let early = try await Self.call(client, .post, "/multipart-uploads/\(id)/complete")
            #expect(early.status == .conflict && UploadsAPITests.errorCode(early) == "incomplete_upload")
            setup.storage.put(id, part: 2, size: 8 * Self.MiB - 1)
            let short = try await Self.call(client, .post, "/multipart-uploads/\(id)/complete")
            #expect(short.status == .conflict && (Self.json(short)["error"] as? [String: Any])?["message"] as? String
                    == "The parts do not make the declared \(size) bytes: part 2 has \(8 * Self.MiB - 1) bytes, not \(8 * Self.MiB).")
            setup.storage.put(id, part: 2, size: 8 * Self.MiB)

            let completed = try await Self.call(client, .post, "/multipart-uploads/\(id)/complete")
            #expect(completed.status == .ok)
            #expect(Self.json(completed)["etag"] as? String == "etag-3" && Self.json(completed)["status"] as? String == "completed")
            // A retry answers the same, without asking storage again.
            let calls = setup.storage.calls.count
            let retried = try await Self.call(client, .post, "/multipart-uploads/\(id)/complete")
            #expect(retried.status == .ok && Data(retried.body.readableBytesView) == Data(completed.body.readableBytesView))
            #expect(setup.storage.calls.count == calls)
            // A completed upload signs no more parts and cannot be aborted.
            let late = try await Self.call(client, .post, "/multipart-uploads/\(id)/parts", #"{"parts":[{"partNumber":1}]}"#)
            #expect(late.status == .conflict && UploadsAPITests.errorCode(late) == "upload_completed")
            let abort = try await Self.call(client, .delete, "/multipart-uploads/\(id)")
            #expect(abort.status == .conflict)
        }
    }

    @Test("a stranger's upload id, and a missing one, are 404 not_found on every route, and storage is not asked")
    func stranger() async throws {
        let setup = try Self.setup()
        try await setup.app.test(.router) { client in
            let created = try await Self.call(client, .post, "/multipart-uploads", #"{"size":10}"#)
            let id = try #require(Self.json(created)["uploadId"] as? String)
            let before = setup.storage.calls
            for upload in [id, "missing", "a%2Fb", String(repeating: "x", count: 2000)] {
                for (method, path, body) in [(HTTPRequest.Method.post, "/parts", #"{"parts":[{"partNumber":1}]}"#), (.get, "/parts", nil),
                                             (.post, "/complete", nil), (.delete, "", nil)] as [(HTTPRequest.Method, String, String?)] {
                    let response = try await Self.call(client, method, "/multipart-uploads/\(upload)\(path)", body, token: "bob-token")
                    #expect(response.status == .notFound && UploadsAPITests.errorCode(response) == "not_found", "\(method) \(upload.prefix(20))\(path)")
                }
            }
            #expect(setup.storage.calls == before)
            let unauthenticated = try await client.executeRequest(uri: "/multipart-uploads/\(id)/parts", method: .get, headers: [:], body: nil)
            #expect(unauthenticated.status == .unauthorized)
        }
    }

    @Test("create applies the policy: type, size, someone else's article (before storage is asked)")
    func policy() async throws {
        let setup = try Self.setup(policy: UploadPolicy(maximumSize: 100 * Self.MiB))
        try await setup.app.test(.router) { client in
            let first = try await Self.call(client, .post, "/multipart-uploads", #"{"size":10}"#)
            let article = try #require(Self.json(first)["articleId"] as? String)
            let calls = setup.storage.calls.count
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"contentType":"text/plain","size":10}"#, .unsupportedMediaType, "unsupported_media_type"),
                (#"{"size":\#(100 * Self.MiB + 1)}"#, .contentTooLarge, "payload_too_large"),
                (#"{"size":0}"#, .badRequest, "invalid_request"),
                (#"{}"#, .badRequest, "invalid_request"),
                ("", .badRequest, "invalid_request"),
                ("[1]", .badRequest, "invalid_request"),
                (#"{"size":10,"checksumAlgorithm":"MD5"}"#, .badRequest, "invalid_request"),
                (#"{"size":10,"checksumSHA256":"\#(Data(count: 32).base64EncodedString())"}"#, .badRequest, "invalid_request"),
                (#"{"size":10,"articleId":"not-a-uuid"}"#, .badRequest, "invalid_request"),
            ]
            for (body, status, code) in cases {
                let response = try await Self.call(client, .post, "/multipart-uploads", body)
                #expect(response.status == status && UploadsAPITests.errorCode(response) == code, "\(body)")
            }
            let theirs = try await Self.call(client, .post, "/multipart-uploads", #"{"size":10,"articleId":"\#(article)"}"#, token: "bob-token")
            #expect(theirs.status == .forbidden && UploadsAPITests.errorCode(theirs) == "forbidden")
            #expect(setup.storage.calls.count == calls)
        }
    }

    @Test("sign parts: bad batches are 400; checksums are signed when the upload was created for them")
    func signing() async throws {
        let setup = try Self.setup()
        try await setup.app.test(.router) { client in
            let plain = Self.json(try await Self.call(client, .post, "/multipart-uploads", #"{"size":\#(17 * Self.MiB)}"#))
            let id = try #require(plain["uploadId"] as? String)
            let digest = Data(repeating: 1, count: 32).base64EncodedString()
            for body in ["", "{}", #"{"parts":[]}"#, #"{"parts":[{"partNumber":0}]}"#, #"{"parts":[{"partNumber":4}]}"#,
                         #"{"parts":[{"partNumber":1},{"partNumber":1}]}"#, #"{"parts":[{"partNumber":1.5}]}"#, #"{"parts":"1"}"#,
                         #"{"parts":[{"partNumber":1,"checksumSHA256":"\#(digest)"}]}"#,
                         #"{"parts":[\#((1...1001).map { _ in #"{"partNumber":1}"# }.joined(separator: ","))]}"#] {
                let response = try await Self.call(client, .post, "/multipart-uploads/\(id)/parts", body)
                #expect(response.status == .badRequest && UploadsAPITests.errorCode(response) == "invalid_request", "\(body.prefix(60))")
            }
            let summed = Self.json(try await Self.call(client, .post, "/multipart-uploads",
                                                       #"{"size":\#(17 * Self.MiB),"checksumAlgorithm":"SHA256"}"#))
            #expect(summed["checksumAlgorithm"] as? String == "SHA256")
            let summedId = try #require(summed["uploadId"] as? String)
            #expect(setup.storage.state.withLock { $0.uploads[summedId]?.checksum } == true)
            let missing = try await Self.call(client, .post, "/multipart-uploads/\(summedId)/parts", #"{"parts":[{"partNumber":1}]}"#)
            #expect(missing.status == .badRequest)
            let signed = try await Self.call(client, .post, "/multipart-uploads/\(summedId)/parts",
                                             #"{"parts":[{"partNumber":3,"checksumSHA256":"\#(digest)"}]}"#)
            #expect(signed.status == .ok)
            let part = try #require((Self.json(signed)["parts"] as? [[String: Any]])?.first)
            #expect(part["headers"] as? [String: String] == ["Content-Length": String(1 * Self.MiB), "x-amz-checksum-sha256": digest])
        }
    }

    @Test("part URLs never outlive the upload; an expired upload signs none")
    func lifetimes() async throws {
        let clock = TestClock(UploadsAPITests.now)
        let setup = try Self.setup(policy: UploadPolicy(maximumSize: 5 << 30, uploadURLExpiry: 900), now: { clock.now })
        try await setup.app.test(.router) { client in
            let id = try #require(Self.json(try await Self.call(client, .post, "/multipart-uploads", #"{"size":10}"#))["uploadId"] as? String)
            clock.advance(86_400 - 100)
            let near = try await Self.call(client, .post, "/multipart-uploads/\(id)/parts", #"{"parts":[{"partNumber":1}]}"#)
            #expect(Self.json(near)["expiresIn"] as? Int == 100)
            clock.advance(200)
            let late = try await Self.call(client, .post, "/multipart-uploads/\(id)/parts", #"{"parts":[{"partNumber":1}]}"#)
            #expect(late.status == .notFound)
        }
    }

    @Test("abort: storage aborts, the record says aborted, the upload is expired; a second abort is 204, then 404 elsewhere")
    func abort() async throws {
        let setup = try Self.setup()
        try await setup.app.test(.router) { client in
            let created = Self.json(try await Self.call(client, .post, "/multipart-uploads", #"{"size":10}"#))
            let id = try #require(created["uploadId"] as? String)
            let key = try #require(created["key"] as? String)
            #expect(try await Self.call(client, .delete, "/multipart-uploads/\(id)").status == .noContent)
            #expect(setup.storage.calls.last == "abort \(id)")
            #expect(try await setup.records.multipartUpload(id: id)?.status == .aborted)
            #expect(try await setup.records.upload(key: key)?.status == .expired)
            #expect(try await Self.call(client, .delete, "/multipart-uploads/\(id)").status == .noContent)
            #expect(try await Self.call(client, .get, "/multipart-uploads/\(id)/parts").status == .notFound)
            #expect(try await Self.call(client, .post, "/multipart-uploads/\(id)/complete").status == .notFound)
        }
    }
}

/// A clock the test moves.
final class TestClock: Sendable {
    private let value: Mutex<Date>
    init(_ start: Date) { value = Mutex(start) }
    var now: Date { value.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { value.withLock { $0 += seconds } }
}
