import Crypto
import Foundation
import SigV4
import Testing

/// `aws-chunked` uploads: the S3 examples' seed, chunk and trailer signatures,
/// encoding, and streaming verification fed in pieces of every size.
@Suite("aws-chunked signatures")
struct AWSChunkedTests {
    struct Example {
        let vector: [String: Any]
        let headers: [(String, String)]
        let expected: [String: Any]
        let date: Date
        let data: [UInt8]
        let chunkSize: Int

        init(_ name: String) throws {
            vector = try S3VectorTests.load(name)
            let request = vector["request"] as? [String: Any] ?? [:]
            headers = S3VectorTests.pairs(request["headers"])
            expected = vector["expected"] as? [String: Any] ?? [:]
            date = S3VectorTests.date(vector)
            let decoded = request["decoded_body"] as? [String: Any] ?? [:]
            data = [UInt8](repeating: UInt8(ascii: "a"), count: decoded["length"] as? Int ?? 0)
            chunkSize = request["chunk_size"] as? Int ?? 0
        }

        var chunks: [[String: Any]] { expected["chunks"] as? [[String: Any]] ?? [] }
        var payload: String { headers.first { $0.0 == "x-amz-content-sha256" }?.1 ?? "" }

        /// Signs the request and encodes the body with our signer.
        func encode() -> (signed: SignedRequest, body: [UInt8], signatures: [String], trailerSignature: String?) {
            // Sign the headers the example signs (the trailer example leaves Content-Length unsigned).
            let signedNames = (expected["signed_headers"] as? String ?? "").split(separator: ";").map(String.init)
            let toSign = headers.filter { $0.0 != "Host" && signedNames.contains($0.0.lowercased()) }
            let signed = S3VectorTests.signer.signHeaders(method: "PUT", host: "s3.amazonaws.com", path: "/examplebucket/chunkObject.txt",
                                                          headers: toSign, payloadHash: payload, date: date)
            var chain = ChunkSigner(seedSignature: signed.signature,
                                    key: S3VectorTests.signer.signingKey(for: AMZDate(date)),
                                    date: AMZDate(date), scope: "20130524/us-east-1/s3/aws4_request")
            var body: [UInt8] = []
            var signatures: [String] = []
            var offset = 0
            while true {
                let piece = Array(data[offset..<min(offset + chunkSize, data.count)])
                body += chain.encode(chunk: piece)
                signatures.append(chain.previousSignature)
                offset += piece.count
                if piece.isEmpty { break }
            }
            var trailerSignature: String?
            if let trailer = expected["trailer"] as? [String: Any], let crc = trailer["x-amz-checksum-crc32c"] as? String {
                let signature = chain.signTrailer([("x-amz-checksum-crc32c", crc)])
                trailerSignature = signature
                body += Array("x-amz-checksum-crc32c:\(crc)\r\nx-amz-trailer-signature:\(signature)\r\n\r\n".utf8)
            } else {
                body += Array("\r\n".utf8)
            }
            return (signed, body, signatures, trailerSignature)
        }

        func authentication(body: [UInt8]) throws -> SigV4Authentication? {
            let (signed, _, _, _) = encode()
            let received = ReceivedRequest(method: "PUT", path: "/examplebucket/chunkObject.txt", query: "",
                                           headers: headers + [("Authorization", signed.authorization)])
            return try S3VectorTests.verifier.verify(received, now: date)
        }
    }

    static let examples = ["chunked-put-object", "chunked-put-object-signed-trailer"]

    @Test("seed, chunk and trailer signatures and the encoded body match", arguments: examples)
    func signatures(_ name: String) throws {
        let e = try Example(name)
        let (signed, body, signatures, trailerSignature) = e.encode()
        #expect(signed.canonicalRequest == e.expected["canonical_request"] as? String)
        #expect(signed.signature == e.expected["seed_signature"] as? String)
        #expect(signatures == e.chunks.map { $0["signature"] as? String ?? "" })
        #expect(body.count == e.expected["encoded_body_length"] as? Int)
        #expect(hexString(SHA256.hash(data: body)) == e.expected["encoded_body_sha256"] as? String)
        if let trailer = e.expected["trailer"] as? [String: Any] {
            #expect(trailerSignature == trailer["signature"] as? String)
        }
    }

    @Test("decoding verifies every chunk, whatever the piece size", arguments: examples)
    func decodeInPieces(_ name: String) throws {
        let e = try Example(name)
        let body = e.encode().body
        let auth = try #require(try e.authentication(body: body))
        for pieceSize in [1, 2, 3, 7, 64, 1000, 8191, 65536, 65537, body.count] {
            var decoder = try AWSChunkedDecoder(authentication: auth, decodedContentLength: e.data.count)
            var out: [UInt8] = []
            var offset = 0
            while offset < body.count {
                let end = min(offset + pieceSize, body.count)
                try decoder.feed(Array(body[offset..<end])) { out.append(contentsOf: $0) }
                offset = end
            }
            let trailers = try decoder.finish()
            #expect(out == e.data, "piece size \(pieceSize)")
            if e.expected["trailer"] != nil {
                #expect(trailers.map { $0.0 } == ["x-amz-checksum-crc32c"])
                #expect(trailers.first?.1 == "sOO8/Q==")
            } else {
                #expect(trailers.isEmpty)
            }
        }
    }

    @Test("a changed byte anywhere in the body is refused", arguments: examples)
    func tampering(_ name: String) throws {
        let e = try Example(name)
        let body = e.encode().body
        let auth = try #require(try e.authentication(body: body))
        // A data byte in each chunk, a signature digit, the trailer value, the trailer signature.
        var positions = [100, 65536 + 90, 66000]
        if let sig = body.firstRange(of: Array("chunk-signature=".utf8)) { positions.append(sig.upperBound + 3) }
        if let t = body.firstRange(of: Array("sOO8".utf8)) { positions.append(t.lowerBound) }
        if let t = body.firstRange(of: Array("x-amz-trailer-signature:".utf8)) { positions.append(t.upperBound + 5) }
        for position in positions {
            var tampered = body
            tampered[position] = tampered[position] == UInt8(ascii: "b") ? UInt8(ascii: "c") : UInt8(ascii: "b")
            var decoder = try AWSChunkedDecoder(authentication: auth)
            let error = #expect(throws: SigV4Error.self, "position \(position)") {
                try decoder.feed(tampered) { _ in }
                try decoder.finish()
            }
            #expect(error?.code == .signatureDoesNotMatch || error?.code == .incompleteBody, "position \(position): \(String(describing: error))")
        }
    }

    @Test("a truncated body or a wrong decoded length is incomplete")
    func truncation() throws {
        let e = try Example("chunked-put-object")
        let body = e.encode().body
        let auth = try #require(try e.authentication(body: body))
        for cut in [0, 10, 90, 65536, body.count - 3, body.count - 1] {
            var decoder = try AWSChunkedDecoder(authentication: auth)
            try decoder.feed(Array(body[..<cut])) { _ in }
            expectError(.incompleteBody) { try decoder.finish() }
        }
        var wrongLength = try AWSChunkedDecoder(authentication: auth, decodedContentLength: e.data.count + 1)
        try wrongLength.feed(body) { _ in }
        expectError(.incompleteBody) { try wrongLength.finish() }
        var extra = try AWSChunkedDecoder(authentication: auth)
        #expect(throws: SigV4Error.self) { try extra.feed(body + [0x41]) { _ in } }
    }

    @Test("unsigned chunks with a trailer (STREAMING-UNSIGNED-PAYLOAD-TRAILER)")
    func unsignedTrailer() throws {
        let credentials = S3VectorTests.credentials
        let signer = S3VectorTests.signer
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let signed = signer.signHeaders(method: "PUT", host: "127.0.0.1:9000", path: "/b/k",
                                        headers: [("Content-Encoding", "aws-chunked"), ("x-amz-trailer", "x-amz-checksum-sha256")],
                                        payloadHash: PayloadHash.streamingUnsignedTrailer, date: date)
        let verifier = SigV4Verifier(credentials: StaticCredentialStore([credentials]))
        let auth = try #require(try verifier.verify(ReceivedRequest(method: "PUT", path: "/b/k", query: "", headers: signed.headers), now: date))
        let body = Array("5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-sha256:uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=\r\n\r\n".utf8)
        var decoder = try AWSChunkedDecoder(authentication: auth, decodedContentLength: 11)
        var out: [UInt8] = []
        try decoder.feed(body) { out.append(contentsOf: $0) }
        let trailers = try decoder.finish()
        #expect(String(decoding: out, as: UTF8.self) == "hello world")
        #expect(trailers.first?.0 == "x-amz-checksum-sha256")
        #expect(!decoder.signed)
    }
}
