import Foundation
import HoistSupport
import Testing

@Suite("Hand-written JSON strings")
struct JSONTextTests {
    @Test("plain text is copied whole; quotes, backslashes and control characters are escaped; JSON reads it back",
          arguments: ["articles/3f1c/raw/9a8b.png", "http://127.0.0.1:9000/b/k?X-Amz-Signature=ab%2Fcd&x=1", "",
                      "say \"hi\"", "back\\slash", "tab\tnew\nline\r", "bell\u{07}\u{1F}\u{0}", "ünïcödé ✓ 🙂"])
    func quoted(text: String) throws {
        let json = JSONText.quoted(text)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) as? [String]
        #expect(decoded == [text])
        #expect(!json.dropFirst().dropLast().contains { $0.isNewline || $0 == "\t" || $0.unicodeScalars.first!.value < 0x20 })
        var appended = "x"
        JSONText.appendQuoted(text, to: &appended)
        #expect(appended == "x" + json)
    }
}

@Suite("Hex and ETag text")
struct HexTests {
    @Test("encode agrees with String(format:) for every byte; decodeLowercase inverts it")
    func roundTrip() {
        let all = (0...255).map { UInt8($0) }
        let hex = Hex.encode(all)
        #expect(hex == all.map { String(format: "%02x", $0) }.joined())
        #expect(Hex.decodeLowercase(hex) == all)
        #expect(Hex.encode([UInt8]()) == "")
    }

    @Test("decodeLowercase refuses odd lengths, upper case and non-hex", arguments: ["abc", "AB", "0g", "zz", " 0"])
    func refused(_ text: String) {
        #expect(Hex.decodeLowercase(text) == nil)
    }

    @Test("value(of:) reads either case")
    func digits() {
        #expect(Hex.value(of: UInt8(ascii: "F")) == 15)
        #expect(Hex.value(of: UInt8(ascii: "a")) == 10)
        #expect(Hex.value(of: UInt8(ascii: "g")) == nil)
    }

    @Test("unquote removes whitespace, a weak prefix and quotes", arguments: [
        ("\"abc\"", "abc"), ("W/\"abc\"", "abc"), (" \"d41d8cd98f00b204e9800998ecf8427e-3\" ", "d41d8cd98f00b204e9800998ecf8427e-3"),
        ("abc", "abc"), ("\"", "\""), ("", ""), ("\"\"", ""),
    ])
    func unquote(_ tag: String, _ expected: String) {
        #expect(ETagText.unquote(tag) == expected)
    }
}
