import Events
import Testing

@Suite struct S3EventKeyTests {
    @Test(arguments: [
        ("photos/red flower.jpg", "photos/red+flower.jpg"),
        ("a+b=c&d", "a%2Bb%3Dc%26d"),
        ("ünï.png", "%C3%BCn%C3%AF.png"),
        ("safe-_.*/x", "safe-_.*/x"),
        ("100% (done)~", "100%25+%28done%29%7E"),
    ])
    func encodesAsS3AndDecodesBack(key: String, encoded: String) {
        #expect(S3EventKey.encode(key) == encoded)
        #expect(S3EventKey.decode(encoded) == key)
    }

    @Test func refusesMalformedEscapes() {
        #expect(S3EventKey.decode("a%2") == nil)
        #expect(S3EventKey.decode("a%zz") == nil)
        #expect(S3EventKey.decode("%FF%FE") == nil)  // not UTF-8
    }

    @Test func sequencersCompareAsNumbers() {
        #expect(S3EventNotification.sequencer("0F", isBefore: "10"))
        #expect(S3EventNotification.sequencer("F", isBefore: "0010"))
        #expect(!S3EventNotification.sequencer("0010", isBefore: "F"))
        #expect(!S3EventNotification.sequencer("AB", isBefore: "ab"))
    }
}
