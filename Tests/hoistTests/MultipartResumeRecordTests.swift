import Foundation
@testable import hoist
import Testing

@Suite("hoist upload: multipart resume file, part plan, retries")
struct MultipartResumeRecordTests {
    static let record = MultipartResumeRecord(api: "http://127.0.0.1:8080", uploadId: "u-1", key: "articles/a/raw/k.jpg", articleId: "a",
                                              contentType: "image/jpeg", size: 20 * 1_048_576 + 3, modified: 1_765_000_000.25,
                                              partSize: 8 * 1_048_576, partCount: 3, partsDone: [1, 3])

    @Test("the part plan: every part but the last has the part size; the last is the rest")
    func plan() throws {
        let mib: Int64 = 1_048_576
        #expect(try PartRange.plan(size: 20 * mib + 3, partSize: 8 * mib) == [
            PartRange(number: 1, offset: 0, length: 8 * mib),
            PartRange(number: 2, offset: 8 * mib, length: 8 * mib),
            PartRange(number: 3, offset: 16 * mib, length: 4 * mib + 3),
        ])
        #expect(try PartRange.plan(size: 16 * mib, partSize: 8 * mib).map(\.length) == [8 * mib, 8 * mib])
        #expect(try PartRange.plan(size: 1, partSize: 8 * mib) == [PartRange(number: 1, offset: 0, length: 1)])
        #expect(try PartRange.plan(size: 10_000, partSize: 1).count == 10_000)
        for (size, partSize) in [(0, 8), (10, 0), (-1, 8), (10_001, 1)] as [(Int64, Int64)] {
            #expect(throws: UploadError.self) { try PartRange.plan(size: size, partSize: partSize) }
        }
    }

    @Test("the resume file round-trips; a cut, foreign or inconsistent file reads as none")
    func roundTrip() throws {
        let data = try Self.record.encoded()
        #expect(MultipartResumeRecord.decode(data) == Self.record)
        #expect(MultipartResumeRecord.decode(data.prefix(data.count / 2)) == nil)
        #expect(MultipartResumeRecord.decode(Data("not json".utf8)) == nil)
        #expect(MultipartResumeRecord.decode(Data()) == nil)
        var other = Self.record
        other.version = 2
        #expect(MultipartResumeRecord.decode(try other.encoded()) == nil)
        other = Self.record
        other.partCount = 4 // not what size and part size make
        #expect(MultipartResumeRecord.decode(try other.encoded()) == nil)
        other = Self.record
        other.uploadId = ""
        #expect(MultipartResumeRecord.decode(try other.encoded()) == nil)
        #expect(MultipartResumeRecord.path(for: "/tmp/big.jpg") == "/tmp/big.jpg.hoist-upload")
    }

    @Test("a record belongs to the same API, file (size, modification time, type) and article")
    func matches() {
        let r = Self.record
        #expect(r.matches(api: r.api, size: r.size, modified: r.modified, contentType: "image/jpeg", articleId: nil))
        #expect(r.matches(api: r.api, size: r.size, modified: r.modified, contentType: "image/jpeg", articleId: "a"))
        #expect(!r.matches(api: "http://127.0.0.1:9999", size: r.size, modified: r.modified, contentType: "image/jpeg", articleId: nil))
        #expect(!r.matches(api: r.api, size: r.size + 1, modified: r.modified, contentType: "image/jpeg", articleId: nil))
        #expect(!r.matches(api: r.api, size: r.size, modified: r.modified + 1, contentType: "image/jpeg", articleId: nil))
        #expect(!r.matches(api: r.api, size: r.size, modified: r.modified, contentType: "image/png", articleId: nil))
        #expect(!r.matches(api: r.api, size: r.size, modified: r.modified, contentType: "image/jpeg", articleId: "b"))
    }

    @Test("after a failed part: re-sign an expired URL, back off on 5xx, 429 and broken connections, else give up")
    func retries() {
        let expired = "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
        #expect(PartRetry.decide(status: 403, body: expired, failures: 0, renewals: 0) == .resign)
        #expect(PartRetry.decide(status: 403, body: expired, failures: 0, renewals: 3) == .fail)
        #expect(PartRetry.decide(status: 503, body: "", failures: 0, renewals: 0, random: { 0 }) == .retry(after: 0.25))
        #expect(PartRetry.decide(status: 500, body: "", failures: 2, renewals: 0, random: { 0 }) == .retry(after: 1))
        #expect(PartRetry.decide(status: 429, body: "", failures: 0, renewals: 0, random: { 0.5 }) == .retry(after: 0.375))
        #expect(PartRetry.decide(status: 0, body: "", failures: 4, renewals: 0, random: { 0 }) == .retry(after: 4))
        #expect(PartRetry.decide(status: 0, body: "", failures: 5, renewals: 0) == .fail)
        #expect(PartRetry.decide(status: 400, body: "<Error><Code>RequestTimeout</Code></Error>", failures: 0, renewals: 0, random: { 0 })
                == .retry(after: 0.25))
        for (status, code) in [(403, "SignatureDoesNotMatch"), (400, "BadDigest"), (404, "NoSuchUpload"), (403, "AccessDenied")] {
            #expect(PartRetry.decide(status: status, body: "<Error><Code>\(code)</Code></Error>", failures: 0, renewals: 0) == .fail)
        }
        #expect(PartRetry.backoff(attempt: 30, random: { 0.999 }) <= 20)
        #expect(PartRetry.backoff(attempt: 30, random: { 0 }) == 10)
    }
}
