import SigV4
import Testing

@Suite("S3 URI encoding")
struct S3URIEncodingTests {
    @Test("paths are encoded once, '/' kept, never normalised")
    func paths() {
        #expect(S3URIEncoding.encodePath("/b/my photo+1.jpg") == "/b/my%20photo%2B1.jpg")
        #expect(S3URIEncoding.encodePath("/b/test$file.text") == "/b/test%24file.text")
        #expect(S3URIEncoding.encodePath("/b/../a//./c") == "/b/../a//./c")
        #expect(S3URIEncoding.encodePath("/b/100%") == "/b/100%25")
        #expect(S3URIEncoding.encodePath("/b/ሴ") == "/b/%E1%88%B4")
        #expect(S3URIEncoding.encodePath("/b/😀") == "/b/%F0%9F%98%80")
        #expect(S3URIEncoding.encodePath("/AZaz09-_.~") == "/AZaz09-_.~")
    }

    @Test("query components encode '/' and '=' too")
    func query() {
        #expect(S3URIEncoding.encodeQueryComponent("a/b=c&d e+f") == "a%2Fb%3Dc%26d%20e%2Bf")
    }

    @Test("every byte round-trips")
    func allBytes() {
        let text = String(decoding: (1...127).map { UInt8($0) }, as: UTF8.self) + "é中😀"
        #expect(S3URIEncoding.decode(S3URIEncoding.encodePath(text)) == text)
        #expect(S3URIEncoding.decode(S3URIEncoding.encodeQueryComponent(text)) == text)
    }

    @Test("malformed escapes and non-UTF-8 are refused")
    func malformed() {
        #expect(S3URIEncoding.decode("%") == nil)
        #expect(S3URIEncoding.decode("%4") == nil)
        #expect(S3URIEncoding.decode("%zz") == nil)
        #expect(S3URIEncoding.decode("%FF") == nil)
        #expect(S3URIEncoding.decode("a+b") == "a+b")
    }
}
