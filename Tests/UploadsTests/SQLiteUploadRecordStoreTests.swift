import Foundation
import Testing
@testable import Uploads

@Suite("Upload records")
struct SQLiteUploadRecordStoreTests {
    static func store() throws -> SQLiteUploadRecordStore {
        try SQLiteUploadRecordStore(path: FileManager.default.temporaryDirectory
            .appendingPathComponent("hoist-records-\(UUID().uuidString)/uploads.sqlite").path)
    }

    static func record(_ article: String, _ owner: String, _ n: Int) -> UploadRecord {
        UploadRecord(key: "articles/\(article)/raw/\(n).png", articleId: article, owner: owner, contentType: "image/png",
                     size: Int64(n + 1), checksumSHA256: nil, issuedAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(n)),
                     expiresAt: Date(timeIntervalSince1970: 1_800_000_900), status: "pending")
    }

    @Test("concurrent records share group commits; every one is written, in one owner's article")
    func concurrent() async throws {
        let store = try Self.store()
        let article = UUID().uuidString.lowercased()
        let results = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
            for n in 0..<200 {
                let owner = n % 2 == 0 ? "alice" : "bob"
                group.addTask { (owner, try await store.record(Self.record(article, owner, n))) }
            }
            return try await group.reduce(into: [(String, Bool)]()) { $0.append($1) }
        }
        let winners = Set(results.filter(\.1).map(\.0))
        #expect(winners.count == 1, "exactly one user owns the article")
        let owner = try #require(winners.first)
        #expect(try await store.owner(ofArticle: article) == owner)
        let uploads = try await store.uploads(inArticle: article)
        #expect(uploads.count == 100)
        #expect(uploads.allSatisfy { $0.owner == owner })
        #expect(uploads.map(\.issuedAt) == uploads.map(\.issuedAt).sorted())
    }

    @Test("a record round-trips")
    func roundTrip() async throws {
        let store = try Self.store()
        let r = Self.record(UUID().uuidString.lowercased(), "carol", 7)
        #expect(try await store.record(r))
        #expect(try await store.uploads(inArticle: r.articleId) == [r])
        #expect(try await store.owner(ofArticle: "missing") == nil)
    }
}

@Suite("Upload URL response JSON")
struct UploadURLResponseJSONTests {
    @Test("the hand-written JSON says what JSONEncoder says, escapes included")
    func sameAsEncoder() throws {
        let response = UploadURLResponse(uploadUrl: "http://127.0.0.1:9000/b/k?X-Amz-Signature=ab\"c\\d", key: "articles/x/raw/é\n.png",
                                         articleId: "id\t1", expiresIn: 900, expiresAt: "2027-01-15T08:00:00Z", method: "PUT",
                                         headers: ["Content-Type": "image/png", "If-None-Match": "*", "x-amz-checksum-sha256": "q/+=\u{1}"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let viaEncoder = try JSONSerialization.jsonObject(with: encoder.encode(response)) as? NSDictionary
        let handWritten = try JSONSerialization.jsonObject(with: Data(response.jsonText.utf8)) as? NSDictionary
        #expect(viaEncoder != nil && viaEncoder == handWritten)
        #expect(try JSONDecoder().decode(UploadURLResponse.self, from: Data(response.jsonText.utf8)) == response)
    }
}
