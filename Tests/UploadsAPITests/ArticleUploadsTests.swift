import Foundation
import Hummingbird
import HummingbirdTesting
import S3
import SigV4
import Testing
import Uploads
@testable import UploadsAPI

@Suite("Upload API: the listing's variants, placeholder and privacy bit")
struct ArticleUploadsTests {
    @Test("a processed record lists each variant with a pre-signed GET URL, the placeholder and locationRemoved")
    func listing() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hoist-uploads-\(UUID().uuidString)/uploads.sqlite").path
        let records = try SQLiteUploadRecordStore(path: path)
        let target = StorageTarget(endpoint: try S3Endpoint(url: "http://127.0.0.1:9000"), bucket: "article-images",
                                   region: "us-east-1", credentials: StaticCredentialProvider(UploadsAPITests.credentials))
        let service = UploadService(policy: UploadPolicy(), target: target, records: records, clock: { UploadsAPITests.now })
        let router = Router(context: APIRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        UploadsAPI(service: service, verifier: FixedTokens(users: ["alice-token": "alice"])).addRoutes(to: router)
        let article = UUID().uuidString.lowercased()
        let prefix = "articles/\(article)/processed/0f1e2d3c-0000-4000-8000-000000000001/"
        var record = UploadRecord(key: "articles/\(article)/raw/0f1e2d3c-0000-4000-8000-000000000001.jpg", articleId: article,
                                  owner: "alice", contentType: "image/jpeg", size: 100, checksumSHA256: nil,
                                  issuedAt: UploadsAPITests.now, expiresAt: UploadsAPITests.now + 900, status: .pending)
        let pending = UploadRecord(key: "articles/\(article)/raw/0f1e2d3c-0000-4000-8000-000000000002.jpg", articleId: article,
                                   owner: "alice", contentType: "image/jpeg", size: 100, checksumSHA256: nil,
                                   issuedAt: UploadsAPITests.now + 1, expiresAt: UploadsAPITests.now + 900, status: .pending)
        #expect(try await records.record(record))
        #expect(try await records.record(pending))
        record.status = .processed
        record.width = 700
        record.height = 500
        record.variants = [
            ImageVariant(width: 320, height: 229, format: .webp, key: prefix + "w320.webp"),
            ImageVariant(width: 320, height: 229, format: .avif, key: prefix + "w320.avif"),
            ImageVariant(width: 640, height: 457, format: .webp, key: prefix + "w640.webp"),
            ImageVariant(width: 640, height: 457, format: .avif, key: prefix + "w640.avif"),
        ]
        record.derived = ["thumbnail": prefix + "w320.webp", "web": prefix + "w640.webp"]
        record.placeholder = "data:image/webp;base64,UklGRg=="
        record.locationRemoved = true
        try await records.update(record)

        try await Application(router: router).test(.router) { client in
            let response = try await client.executeRequest(uri: "/articles/\(article)/uploads", method: .get,
                                                           headers: [.authorization: "Bearer alice-token"], body: nil)
            #expect(response.status == .ok)
            let uploads = try #require(UploadsAPITests.json(response)["uploads"] as? [[String: Any]])
            #expect(uploads.count == 2)
            let item = try #require(uploads.first)
            #expect(item["locationRemoved"] as? Bool == true)
            #expect(item["placeholder"] as? String == "data:image/webp;base64,UklGRg==")
            let variants = try #require(item["variants"] as? [[String: Any]])
            #expect(variants.map { "\($0["format"] ?? "")\($0["width"] ?? "")x\($0["height"] ?? "")" }
                    == ["webp320x229", "avif320x229", "webp640x457", "avif640x457"])
            #expect(variants.map { $0["contentType"] as? String } == ["image/webp", "image/avif", "image/webp", "image/avif"])
            let verifier = SigV4Verifier(credentials: StaticCredentialStore([UploadsAPITests.credentials]))
            for variant in variants {
                let key = try #require(variant["key"] as? String)
                let url = try #require(variant["url"] as? String)
                #expect(url.hasPrefix("http://127.0.0.1:9000/article-images/\(key)?"))
                let signed = ReceivedRequest(method: "GET", target: String(url.dropFirst("http://127.0.0.1:9000".count)),
                                             headers: [("Host", "127.0.0.1:9000")])
                #expect(try verifier.verify(signed, now: UploadsAPITests.now) != nil, "\(key)")
            }
            let derived = try #require(item["derived"] as? [String: [String: String]])
            #expect(derived["thumbnail"]?["key"] == prefix + "w320.webp" && derived["web"]?["key"] == prefix + "w640.webp")
            #expect(derived["web"]?["url"] == variants[2]["url"] as? String)
            // A record with nothing derived: no variants, no placeholder, locationRemoved false.
            let other = try #require(uploads.last)
            #expect(other["variants"] == nil && other["placeholder"] == nil && other["locationRemoved"] as? Bool == false)
        }
    }
}
