import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import ObjectStore
import Testing

@Suite("XML reader")
struct XMLTreeTests {
    /// The body that killed `hoist serve` through Foundation's `XMLParser`: one invalid
    /// UTF-8 byte (0xE5, a lead byte with no continuation) in an element name.
    static let trapBody: [UInt8] = Array("<CORSConfiguration><CORSRul".utf8) + [0xE5] + Array("/></CORSConfiguration>".utf8)

    @Test("well-formed documents")
    func wellFormed() throws {
        let root = try XMLTree.parse(Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <!-- a comment -->
            <s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/" a='1' b="&quot;2&quot;">
              <s3:Object><Key>a &amp; b &lt;c&gt; &#233;&#x1F600; &apos;</Key></s3:Object>
              <Object><Key><![CDATA[<raw> & ]]>tail</Key><Empty/></Object>
              <?pi some data?>
              <Quiet>true</Quiet>
            </s3:Delete>
            """.utf8))
        #expect(root.name == "Delete")
        #expect(root.children.map(\.name) == ["Object", "Object", "Quiet"])
        #expect(root.children[0].child("Key")?.text == "a & b <c> é😀 '")
        #expect(root.children[1].child("Key")?.text == "<raw> & tail")
        #expect(root.children[1].child("Empty") == XMLTree(name: "Empty", text: "", children: []))
        #expect(root.child("Quiet")?.text == "true")
        #expect(root.children(named: "Object").count == 2)
        // Non-ASCII names and text, a BOM, CR LF line ends, space before the end tag's '>'.
        let other = try XMLTree.parse(Data([0xEF, 0xBB, 0xBF] + Array("<Größe>a\r\nb\rc</Größe >".utf8)))
        #expect(other.name == "Größe")
        #expect(other.text == "a\nb\nc")
    }

    @Test("malformed documents are MalformedXML", arguments: [
        (XMLTreeTests.trapBody, "invalid UTF-8 in an element name"),
        (Array("<A>".utf8) + [0xC3, 0x28] + Array("</A>".utf8), "invalid UTF-8 in text"),
        (Array("<A x='".utf8) + [0xFF] + Array("'/>".utf8), "invalid UTF-8 in an attribute"),
        ([], "empty"),
        (Array("not xml".utf8), "no element"),
        (Array("<A>".utf8), "unclosed"),
        (Array("<A></B>".utf8), "mismatched end tag"),
        (Array("<A></A><B/>".utf8), "two roots"),
        (Array("<A>&bogus;</A>".utf8), "undeclared entity"),
        (Array("<A>&#0;</A>".utf8), "a NUL reference"),
        (Array("<A>&#xD800;</A>".utf8), "a surrogate reference"),
        (Array("<A>&amp</A>".utf8), "an unterminated reference"),
        (Array("<A>a & b</A>".utf8), "a bare ampersand"),
        (Array("<A>\u{01}</A>".utf8), "a control character"),
        (Array("<A>]]></A>".utf8), "']]>' in text"),
        (Array("<!DOCTYPE A [<!ENTITY e \"x\">]><A>&e;</A>".utf8), "a DTD"),
        (Array("<A><!DOCTYPE B></A>".utf8), "a declaration in content"),
        (Array("<A a='1' a='2'/>".utf8), "a repeated attribute"),
        (Array("<A a='1'b='2'/>".utf8), "attributes without space"),
        (Array("<A a=1/>".utf8), "an unquoted attribute"),
        (Array("<A a='<'/>".utf8), "'<' in an attribute"),
        (Array("<A><!-- x -- y --></A>".utf8), "'--' in a comment"),
        (Array("<A><?xml version='1.0'?></A>".utf8), "an XML declaration after the start"),
        (Array("<1A/>".utf8), "a name starting with a digit"),
        (Array("<A:/>".utf8), "an empty local name"),
        (Array("<A/>trailing".utf8), "text after the root"),
        (Array("<A><![CDATA[x</A>".utf8), "an unterminated CDATA section"),
    ] as [([UInt8], String)])
    func malformed(_ body: [UInt8], _ what: String) {
        #expect(throws: S3Error.self, "\(what)") { try XMLTree.parse(Data(body)) }
        do {
            _ = try XMLTree.parse(Data(body))
        } catch let error as S3Error {
            #expect(error.code.rawValue == "MalformedXML", "\(what)")
        } catch {
            Issue.record("\(what): \(error)")
        }
    }

    @Test("depth and element count are bounded, without recursion")
    func limits() throws {
        let deepOK = String(repeating: "<a>", count: XMLTree.maximumDepth) + String(repeating: "</a>", count: XMLTree.maximumDepth)
        #expect(try XMLTree.parse(Data(deepOK.utf8)).name == "a")
        let tooDeep = String(repeating: "<a>", count: XMLTree.maximumDepth + 1) + String(repeating: "</a>", count: XMLTree.maximumDepth + 1)
        #expect(throws: S3Error.self) { try XMLTree.parse(Data(tooDeep.utf8)) }
        // A million unclosed opening tags: refused at the depth limit, not by the stack.
        #expect(throws: S3Error.self) { try XMLTree.parse(Data(String(repeating: "<a>", count: 1_000_000).utf8)) }
        let wide = "<r>" + String(repeating: "<k/>", count: XMLTree.maximumElements) + "</r>"
        #expect(throws: S3Error.self) { try XMLTree.parse(Data(wide.utf8)) }
        let fits = "<r>" + String(repeating: "<k/>", count: XMLTree.maximumElements - 1) + "</r>"
        #expect(try XMLTree.parse(Data(fits.utf8)).children.count == XMLTree.maximumElements - 1)
    }

    /// Fuzzing's findings (`Fuzz/Regressions/xml`): repeated-attribute detection compared each
    /// attribute with every earlier one, so n attributes cost n² (an 8 MB body held a core).
    @Test("an element's attributes are checked in linear time", arguments: [100_000])
    func manyAttributes(count: Int) throws {
        let names = (0..<count).map { "a\($0)='' " }.joined()
        let started = ContinuousClock.now
        #expect(try XMLTree.parse(Data("<Delete \(names)/>".utf8)).name == "Delete")
        #expect(throws: S3Error.self) { try XMLTree.parse(Data("<Delete \(names)a0=''/>".utf8)) }
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test("every XML route answers 400 MalformedXML to the body that crashed the server, and keeps serving")
    func routesRefuseTrapBody() async throws {
        try await S3ServerTests.makeApp().test(.router) { client in
            try await S3ServerTests.send(client, .put, "/bkt")
            let created = try await S3ServerTests.send(client, .post, "/bkt/big", query: [("uploads", "")])
            let text = String(buffer: created.body)
            let uploadId = try #require(text.range(of: "<UploadId>").flatMap { start in
                text.range(of: "</UploadId>").map { String(text[start.upperBound..<$0.lowerBound]) }
            })
            let md5 = Data(Insecure.MD5.hash(data: Self.trapBody)).base64EncodedString()
            let routes: [(HTTPRequest.Method, String, [(String, String)])] = [
                (.put, "/bkt", [("cors", "")]),
                (.put, "/bkt", [("lifecycle", "")]),
                (.put, "/bkt", [("notification", "")]),
                (.put, "/bkt", [("versioning", "")]),
                (.post, "/bkt", [("delete", "")]),
                (.post, "/bkt/big", [("uploadId", uploadId)]),
            ]
            for (method, path, query) in routes {
                let response = try await S3ServerTests.send(client, method, path, query: query,
                                                            headers: [("Content-MD5", md5)], body: Self.trapBody)
                #expect(response.status == .badRequest, "\(method) \(path)?\(query[0].0)")
                #expect(S3ServerTests.xmlCode(response) == "MalformedXML", "\(method) \(path)?\(query[0].0)")
            }
            #expect(try await S3ServerTests.send(client, .put, "/bkt/after", body: Array("still here".utf8)).status == .ok)
        }
    }
}
