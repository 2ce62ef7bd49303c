import NIOHTTP1
@testable import S3
import SigV4
import Testing

/// How `S3Client` reads S3's headers and XML, from fixed responses (AWS's documented shapes).
@Suite("S3 response parsing")
struct S3ResponseParsingTests {
    static let request = S3Client.Request(operation: "HeadObject", method: .HEAD, bucket: "b", key: "k")

    @Test("head of a range GET: total size from Content-Range, quotes off the ETag, metadata keys lowercased")
    func rangeHead() throws {
        let headers = HTTPHeaders([
            ("Content-Length", "5"), ("Content-Range", "bytes 0-4/24"), ("ETag", "\"9b2cf535f27731c974343645a3985328\""),
            ("Content-Type", "image/png"), ("Last-Modified", "Wed, 12 Oct 2009 17:50:00 GMT"),
            ("x-amz-meta-Article-Id", "42"), ("x-amz-checksum-sha256", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="),
            ("x-amz-version-id", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"),
        ])
        let head = try #require(S3ObjectHead(headers: headers))
        #expect(head.size == 24)
        #expect(head.etag == "9b2cf535f27731c974343645a3985328")
        #expect(head.contentType == "image/png")
        #expect(head.lastModified?.timeIntervalSince1970 == 1_255_369_800)
        #expect(head.metadata == ["article-id": "42"])
        #expect(head.checksumSHA256 == "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")
        #expect(head.versionId == "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
        #expect(S3ObjectHead(headers: HTTPHeaders([("Content-Length", "5")])) == nil, "no ETag: no head")
        #expect(S3ObjectHead(headers: HTTPHeaders([("Content-Length", "5"), ("ETag", "W/\"abc\"")]))?.etag == "abc")
    }

    @Test("request URLs: path-style and virtual-hosted, the key encoded once")
    func urls() throws {
        let credentials = SigV4Credentials(accessKeyId: "AKID", secretAccessKey: "secret")
        let key = "articles/ü 1/a+b%2F~c.png"
        let request = S3Client.Request(operation: "GetObject", method: .GET, bucket: "article-images", key: key)
        let aws = S3Client(endpoint: .aws(region: "eu-west-1"), region: "eu-west-1", credentials: credentials)
        let virtual = aws.target(of: request)
        #expect(virtual.url == "https://article-images.s3.eu-west-1.amazonaws.com/articles/%C3%BC%201/a%2Bb%252F~c.png")
        #expect(virtual.host == "article-images.s3.eu-west-1.amazonaws.com")
        #expect(virtual.path == "/" + key)
        let local = S3Client(endpoint: try S3Endpoint(url: "http://127.0.0.1:9000"), region: "us-east-1", credentials: credentials)
        let pathStyle = local.target(of: request)
        #expect(pathStyle.url == "http://127.0.0.1:9000/article-images/articles/%C3%BC%201/a%2Bb%252F~c.png")
        #expect(pathStyle.host == "127.0.0.1:9000")
    }

    @Test("S3's XML error: code, message with entities, request id")
    func xmlError() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>NoSuchKey</Code><Message>The key &quot;a &amp; b&quot; &lt;does not&gt; exist&#33;</Message>\
            <Key>a &amp; b</Key><RequestId>4442587FB7D0A2F9</RequestId></Error>
            """
        let error = S3Client.error(status: 404, xml: xml, requestId: "header-id", request: Self.request)
        #expect(error.code == .noSuchKey)
        #expect(error.message == "The key \"a & b\" <does not> exist!")
        #expect(error.requestId == "4442587FB7D0A2F9")
        #expect(error.description == "S3 HeadObject b/k failed: HTTP 404 NoSuchKey: The key \"a & b\" <does not> exist! (request id 4442587FB7D0A2F9)")
        #expect(S3XML.rootElement(of: xml) == "Error")
        #expect(S3XML.rootElement(of: "<CopyObjectResult xmlns=\"x\"><ETag>&quot;e&quot;</ETag></CopyObjectResult>") == "CopyObjectResult")
    }

    @Test("bodiless errors get a code from the status", arguments: [
        (404, "k", "NoSuchKey"), (404, "", "NoSuchBucket"), (403, "k", "Forbidden"), (412, "k", "PreconditionFailed"),
        (416, "k", "InvalidRange"), (503, "k", "HTTP503"),
    ])
    func bodiless(status: Int, key: String, code: String) {
        var request = Self.request
        request.key = key
        let error = S3Client.error(status: status, xml: "", requestId: "rid", request: request)
        #expect(error.code.rawValue == code)
        #expect(error.status == status)
        #expect(error.requestId == "rid")
        #expect(!error.message.isEmpty)
    }
}
