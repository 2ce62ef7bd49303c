import Foundation
import Testing
@testable import Uploads

@Suite("The request body reader (FlatJSON)")
struct FlatJSONTests {
    func fields(_ text: String) throws(FlatJSON.Failure) -> [String: FlatJSON.Value] {
        try FlatJSON.object(Array(text.utf8))
    }

    @Test("scalars are kept as written; nested values are skipped; the last of a repeated field wins")
    func scalars() throws {
        let read = try fields(#" { "s": "a\"b\\c\/d\u00e9\ud83d\ude00\n", "n": -12.5e+3, "z": 0, "t": true, "f": false, "x": null, "o": {"a": [1, {"b": []}], "c": "}"}, "a": [], "s2": "x", "s2": "y" } "#)
        #expect(read["s"] == .string("a\"b\\c/dé😀\n"))
        #expect(read["n"] == .number("-12.5e+3"))
        #expect(read["z"] == .number("0"))
        #expect(read["t"] == .bool(true))
        #expect(read["f"] == .bool(false))
        #expect(read["x"] == .null)
        #expect(read["o"] == .nested)
        #expect(read["a"] == .nested)
        #expect(read["s2"] == .string("y"))
        #expect(read.count == 9)
        #expect(try fields("{}").isEmpty)
    }

    @Test("malformed JSON is refused",
          arguments: ["", "{", "}", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}", "{'a':1}", "{a:1}",
                      "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":+1}", "{\"a\":-}", "{\"a\":tru}",
                      "{\"a\":nul}", "{\"a\":\"\u{01}\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud83d\"}",
                      "{\"a\":\"\\ude00\"}", "{\"a\":[1,]}", "{\"a\":[,1]}", "{\"a\":{\"b\"}}", "{\"a\":{\"b\":1,}}",
                      "{\"a\":[}", "{\"a\":1} x", "{\"a\":1}{}", "{\"a\":\"unterminated}"])
    func refused(text: String) {
        #expect(throws: FlatJSON.Failure.invalid) { try fields(text) }
        // The reference parser agrees that these are not JSON, except for trailing commas:
        // Foundation tolerates them, RFC 8259 (and this reader) does not.
        if !text.contains(",}") && !text.contains(",]") {
            #expect((try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) == nil)
        }
    }

    @Test("valid JSON that is not an object says so", arguments: ["[]", "[1, {\"a\": 2}]", "\"text\"", " 12 ", "true", "null"])
    func notAnObject(text: String) {
        #expect(throws: FlatJSON.Failure.notAnObject) { try fields(text) }
    }

    @Test("invalid UTF-8 in a string is refused")
    func invalidUTF8() {
        #expect(throws: FlatJSON.Failure.invalid) { try FlatJSON.object([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D]) }
    }

    @Test("nesting deeper than the limit is refused without recursion; at the limit it is skipped")
    func depth() throws {
        let limit = FlatJSON.maximumDepth
        let atLimit = "{\"a\":" + String(repeating: "[", count: limit) + String(repeating: "]", count: limit) + "}"
        #expect(try fields(atLimit)["a"] == .nested)
        let deep = "{\"a\":" + String(repeating: "[", count: 8000) + String(repeating: "]", count: 8000) + "}"
        #expect(throws: FlatJSON.Failure.invalid) { try fields(deep) }
    }

    @Test("random objects read back as Foundation's parser reads them")
    func agreesWithFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        let strings = ["", "plain", "quote\"d", "back\\slash", "tab\t", "ünï 🙂", "\u{1F}"]
        for _ in 0..<200 {
            var object: [String: Any] = [:]
            for index in 0..<Int.random(in: 0...6, using: &generator) {
                switch Int.random(in: 0...4, using: &generator) {
                case 0: object["k\(index)"] = strings.randomElement(using: &generator)!
                case 1: object["k\(index)"] = Int.random(in: -1_000_000...1_000_000, using: &generator)
                case 2: object["k\(index)"] = Bool.random(using: &generator)
                case 3: object["k\(index)"] = NSNull()
                default: object["k\(index)"] = ["x": [1, "y", ["z": NSNull()]]]
                }
            }
            let data = try JSONSerialization.data(withJSONObject: object)
            let read = try FlatJSON.object(Array(data))
            #expect(read.count == object.count)
            for (name, value) in object {
                switch value {
                case let text as String: #expect(read[name] == .string(text))
                case let bool as Bool where type(of: value) == Bool.self: #expect(read[name] == .bool(bool))
                case let number as Int: #expect(read[name] == .number(String(number)))
                case is NSNull: #expect(read[name] == .null)
                default: #expect(read[name] == .nested)
                }
            }
        }
    }
}

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
