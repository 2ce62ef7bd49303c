import Foundation
import FlatJSON
import Testing

@Suite("FlatJSON, the reader of small JSON objects")
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
        #expect(read["a"] == .strings([]))
        #expect(read["s2"] == .string("y"))
        #expect(read.count == 9)
        #expect(try fields("{}").isEmpty)
    }

    @Test("an array of strings is kept; any other array is skipped as nested")
    func arrays() throws {
        let read = try fields(#"{"aud": ["a", "b\u00e9"], "one": [""], "mixed": ["a", 1], "deep": [["a"]], "objects": [{}]}"#)
        #expect(read["aud"] == .strings(["a", "bé"]))
        #expect(read["one"] == .strings([""]))
        #expect(read["mixed"] == .nested)
        #expect(read["deep"] == .nested)
        #expect(read["objects"] == .nested)
        for bad in [#"{"aud": ["a",]}"#, #"{"aud": ["a" "b"]}"#, #"{"aud": ["a"}"#, #"{"aud": ["a", 1,]}"#] {
            #expect(throws: FlatJSON.Failure.invalid) { try fields(bad) }
        }
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
