import Foundation
import Testing
import Uploads
@testable import UploadsAPI

@Suite("POST /upload-url body rules")
struct UploadURLRequestTests {
    let policy = UploadPolicy()

    func parse(_ text: String) throws(APIError) -> UploadURLRequest {
        try UploadURLRequest(body: Array(text.utf8), policy: policy)
    }

    func refusal(_ text: String) -> (Int, String)? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return (Int(error.status.code), error.message)
        }
    }

    @Test("fields are read, trimmed and normalised")
    func accepted() throws {
        let request = try parse(#"{"contentType": " Image/PNG\t", "size": 52133, "articleId": "3F1C0D5E-8B7A-4C2D-9E1F-0A1B2C3D4E5F", "checksumSHA256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "extra": {"ignored": [1]}}"#)
        #expect(request.contentType == "image/png")
        #expect(request.size == 52133)
        #expect(request.articleId == "3f1c0d5e-8b7a-4c2d-9e1f-0a1b2c3d4e5f")
        #expect(request.checksumSHA256 == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        let defaults = try parse(#"{"size": 5.2133e4, "contentType": null, "articleId": null}"#)
        #expect(defaults.contentType == "image/jpeg")
        #expect(defaults.size == 52133)
        #expect(defaults.articleId == nil)
        #expect(try parse(#"{"size": 10.0}"#).size == 10)
    }

    @Test("each bad field gets its own message and status")
    func refused() {
        let cases: [(String, Int, String)] = [
            ("  ", 400, "Send a JSON body"),
            ("{", 400, "not valid JSON"),
            ("[1]", 400, "must be a JSON object"),
            (#"{"contentType": 1, "size": 1}"#, 400, "contentType must be a string"),
            (#"{"contentType": "text/html", "size": 1}"#, 415, "is not allowed"),
            (#"{}"#, 400, "size is required"),
            (#"{"size": null}"#, 400, "size is required"),
            (#"{"size": "12"}"#, 400, "whole number"),
            (#"{"size": true}"#, 400, "whole number"),
            (#"{"size": 1.5}"#, 400, "whole number"),
            (#"{"size": 1e400}"#, 400, "whole number"),
            (#"{"size": 99999999999999999999}"#, 400, "whole number"),
            (#"{"size": 0}"#, 400, "at least 1 byte"),
            (#"{"size": -5}"#, 400, "at least 1 byte"),
            (#"{"size": 10485761}"#, 413, "over the limit"),
            (#"{"size": 1, "articleId": "../x"}"#, 400, "articleId must be a UUID"),
            (#"{"size": 1, "articleId": "3f1c0d5e-8b7a-4c2d-9e1f-0a1b2c3d4e5f0"}"#, 400, "articleId must be a UUID"),
            (#"{"size": 1, "articleId": "3f1c0d5e+8b7a-4c2d-9e1f-0a1b2c3d4e5f"}"#, 400, "articleId must be a UUID"),
            (#"{"size": 1, "articleId": 7}"#, 400, "articleId must be a UUID"),
            (#"{"size": 1, "checksumSHA256": "abc"}"#, 400, "checksumSHA256 must be"),
            (#"{"size": 1, "checksumSHA256": 3}"#, 400, "checksumSHA256 must be"),
        ]
        for (body, status, message) in cases {
            let refused = refusal(body)
            #expect(refused?.0 == status, "\(body)")
            #expect(refused?.1.contains(message) == true, "\(body): \(refused?.1 ?? "accepted")")
        }
    }
}

@Suite("Upload ids")
struct UploadIDTests {
    @Test("random UUIDs are version 4, time-ordered ones version 7; both parse and are unique")
    func formats() throws {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let random = UploadKey.randomUUID(), ordered = UploadKey.timeOrderedUUID()
            for (text, version) in [(random, "4"), (ordered, "7")] {
                #expect(UploadKey.isUUID(text))
                #expect(UUID(uuidString: text)?.uuidString.lowercased() == text)
                let digits = Array(text)
                #expect(String(digits[14]) == version)
                #expect("89ab".contains(digits[19]))
                #expect(seen.insert(text).inserted)
            }
        }
    }

    @Test("time-ordered UUIDs carry the time and sort by it")
    func ordered() {
        let early = Date(timeIntervalSince1970: 1_700_000_000.123)
        let late = early.addingTimeInterval(0.002)
        let first = UploadKey.timeOrderedUUID(now: early), second = UploadKey.timeOrderedUUID(now: late)
        #expect(first < second)
        let millis = UInt64(first.replacingOccurrences(of: "-", with: "").prefix(12), radix: 16)
        #expect(millis == 1_700_000_000_123)
    }

    @Test("isUUID wants the 8-4-4-4-12 form", arguments: ["", "3f1c0d5e8b7a4c2d9e1f0a1b2c3d4e5f", "{3f1c0d5e-8b7a-4c2d-9e1f-0a1b2c3d4e5f}",
                                                          "3f1c0d5e-8b7a-4c2d-9e1f-0a1b2c3d4e5g", "3f1c0d5e-8b7a-4c2d-9e1f_0a1b2c3d4e5f", "é"])
    func notUUIDs(text: String) {
        #expect(!UploadKey.isUUID(text))
    }
}
