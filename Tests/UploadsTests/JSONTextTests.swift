import Foundation
import Testing
@testable import Uploads

@Suite("Hand-written JSON strings")
struct JSONTextTests {
    @Test("plain text is copied whole; quotes, backslashes and control characters are escaped; JSON reads it back",
          arguments: ["articles/3f1c/raw/9a8b.png", "http://127.0.0.1:9000/b/k?X-Amz-Signature=ab%2Fcd&x=1", "",
                      "say \"hi\"", "back\\slash", "tab\tnew\nline\r", "bell\u{07}", "ünïcödé ✓ 🙂"])
    func quoted(text: String) throws {
        let json = jsonQuoted(text)
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(json)]".utf8)) as? [String]
        #expect(decoded == [text])
        #expect(!json.dropFirst().dropLast().contains { $0.isNewline || $0 == "\t" })
    }
}
