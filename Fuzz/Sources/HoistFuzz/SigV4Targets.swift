import Foundation
import HoistFuzzKit
import SigV4

/// SigV4: the Authorization header and query parsers (through the public verifier), the
/// signer against the verifier, the `aws-chunked` decoder and the POST policy reader.
enum SigV4Targets {
    static let credentials = SigV4Credentials(accessKeyId: "AKIDHOIST0000000TEST", secretAccessKey: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw")
    static let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
    static let verifier = SigV4Verifier(credentials: StaticCredentialStore([credentials]))
    static let now = Date(timeIntervalSince1970: 1_764_000_000)
    static let host = "127.0.0.1:9000"

    /// The input is the `Authorization` header's value; the other headers are those of a
    /// correctly signed request, so a parsed header goes on to the signature check.
    static let header = FuzzTarget("sigv4-header") { bytes in
        let amz = AMZDate(now).amzString
        let request = ReceivedRequest(method: "GET", path: "/bucket/k", query: "", headers: [
            ("Host", host), ("X-Amz-Date", amz), ("x-amz-content-sha256", PayloadHash.unsigned),
            ("Authorization", String(decoding: bytes, as: UTF8.self)),
        ])
        _ = try? verifier.verify(request, now: now)
    }

    /// The input is the raw query string of a pre-signed URL.
    static let query = FuzzTarget("sigv4-query") { bytes in
        let request = ReceivedRequest(method: "PUT", path: "/bucket/k", query: String(decoding: bytes, as: UTF8.self),
                                      headers: [("Host", host), ("Content-Type", "image/png")])
        _ = try? verifier.verify(request, now: now)
    }

    /// Text of any Unicode scalars but controls (what an HTTP field or a decoded key may hold).
    static func text(_ bytes: [UInt8]) -> String {
        String(String(decoding: bytes, as: UTF8.self).unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }
            .map(Character.init))
    }

    /// A header name: an HTTP token of lowercase letters, digits and dashes.
    static func token(_ bytes: [UInt8]) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-".utf8)
        return String(decoding: bytes.prefix(20).map { alphabet[Int($0) % alphabet.count] }, as: UTF8.self)
    }

    static let headerNames = ["Content-Type", "Content-Length", "If-None-Match", "x-amz-checksum-sha256", "Cache-Control", "x-amz-meta-"]

    /// Differential: a request our signer signs (header or query auth, fuzz-chosen method, key,
    /// query, headers and time) must verify; the same request with one signature character
    /// changed, or a signed header's value changed, must not.
    static let signerVerifier = FuzzTarget("sigv4-verifier") { bytes in
        var input = FuzzInput(bytes)
        let choice = input.byte()
        let method = ["GET", "PUT", "POST", "HEAD", "DELETE"][Int(choice % 5)]
        let presigned = choice & 0x80 != 0
        let date = now.addingTimeInterval(TimeInterval(input.int(in: 0...100_000) * 300))
        let key = text(input.field())
        var query: [(String, String)] = []
        for _ in 0..<input.int(in: 0...3) {
            let name = text(input.field()), value = text(input.field())
            // Names the signer reserves for itself, and the auth parameters, are another test.
            guard !name.isEmpty, !name.lowercased().hasPrefix("x-amz-") else { continue }
            query.append((name, value))
        }
        var headers: [(String, String)] = []
        for _ in 0..<input.int(in: 0...3) {
            var name = headerNames[input.int(in: 0...(headerNames.count - 1))]
            if name.hasSuffix("-") { name += token(input.field()) }
            let value = text(input.field())
            guard !headers.contains(where: { $0.0.lowercased() == name.lowercased() }) else { continue }
            headers.append((name, value))
        }
        let tamperAt = input.int(in: 0...63)

        let request: ReceivedRequest, signature: String
        if presigned {
            guard let p = try? signer.presign(method: method, scheme: "http", host: host, path: "/bucket/\(key)", query: query,
                                              headers: headers, expires: 900, date: date) else { return }
            let afterScheme = p.url.dropFirst("http://".count)
            let target = String(afterScheme[(afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex)...])
            request = ReceivedRequest(method: method, target: target, headers: [("Host", host)] + p.headers)
            signature = p.signature
        } else {
            let signed = signer.signHeaders(method: method, host: host, path: "/bucket/\(key)", query: query, headers: headers,
                                            payloadHash: PayloadHash.unsigned, date: date)
            let queryText = query.map { "\(S3URIEncoding.encodeQueryComponent($0.0))=\(S3URIEncoding.encodeQueryComponent($0.1))" }
                .joined(separator: "&")
            request = ReceivedRequest(method: method, path: S3URIEncoding.encodePath("/bucket/\(key)"), query: queryText,
                                      headers: signed.headers)
            signature = signed.signature
        }
        do {
            let auth = try verifier.verify(request, now: date)
            fuzzCheck(auth?.signature == signature, "the verifier did not authenticate a request the signer signed")
        } catch {
            fuzzCheck(false, "the verifier refused a request the signer signed: \(error)")
        }

        // One signature character changed.
        let hex = Array("0123456789abcdef".utf8)
        var changed = Array(signature.utf8)
        let index = tamperAt % changed.count
        changed[index] = hex[(hex.firstIndex(of: changed[index]).map { $0 + 1 } ?? 0) % 16]
        let tampered = String(decoding: changed, as: UTF8.self)
        var bad = request
        if presigned {
            bad.query = bad.query.replacingOccurrences(of: "X-Amz-Signature=\(signature)", with: "X-Amz-Signature=\(tampered)")
        } else {
            bad.headers = bad.headers.map { $0.0 == "Authorization" ? ($0.0, $0.1.replacingOccurrences(of: signature, with: tampered)) : $0 }
        }
        fuzzCheck((try? verifier.verify(bad, now: date)) == nil, "a changed signature was accepted")

        // A signed header's value changed (Host is always signed).
        var moved = request
        moved.headers = moved.headers.map { $0.0.lowercased() == "host" ? ($0.0, $0.1 + "0") : $0 }
        fuzzCheck((try? verifier.verify(moved, now: date)) == nil, "a changed signed header was accepted")
    }

    /// Authentications for the three `aws-chunked` variants, from requests we sign and verify.
    static let chunkedAuthentications: [SigV4Authentication] = [
        PayloadHash.streaming, PayloadHash.streamingTrailer, PayloadHash.streamingUnsignedTrailer,
    ].compactMap { payload in
        let signed = signer.signHeaders(method: "PUT", host: host, path: "/bucket/chunked",
                                        headers: [("Content-Encoding", "aws-chunked")], payloadHash: payload, date: now)
        return try? verifier.verify(ReceivedRequest(method: "PUT", path: "/bucket/chunked", query: "", headers: signed.headers), now: now)
    }

    /// Feeds `body` to a decoder in pieces; returns the decoded bytes, or `nil` if it was refused.
    static func decode(_ body: [UInt8], variant: Int, seed: UInt8, decodedLength: Int? = nil) -> [UInt8]? {
        guard var decoder = try? AWSChunkedDecoder(authentication: chunkedAuthentications[variant], decodedContentLength: decodedLength) else {
            fuzzCheck(false, "a streaming authentication was refused by the decoder")
            return nil
        }
        var out: [UInt8] = []
        do {
            for piece in pieces(of: body, seed: seed) {
                try decoder.feed(Array(piece)) { out.append(contentsOf: $0) }
            }
            fuzzCheck(decoder.decodedLength == out.count, "decodedLength \(decoder.decodedLength) but \(out.count) bytes emitted")
            try decoder.finish()
            return out
        } catch {
            fuzzCheck(decoder.decodedLength == out.count, "decodedLength \(decoder.decodedLength) but \(out.count) bytes emitted")
            return nil
        }
    }

    /// The `aws-chunked` decoder, fed in random piece sizes. Even first bytes: the rest is the raw
    /// body. Odd: the rest is chunk data that our `ChunkSigner` encodes; the body must decode to
    /// exactly that data, and must be refused once one data or signature byte is changed.
    static let awsChunked = FuzzTarget("aws-chunked") { bytes in
        var input = FuzzInput(bytes)
        let choice = input.byte()
        let variant = Int(choice >> 1) % 3
        let seed = input.byte()
        guard choice & 1 == 1 else {
            _ = decode(input.rest(), variant: variant, seed: seed)
            return
        }
        let auth = chunkedAuthentications[variant]
        var chain = ChunkSigner(seedSignature: auth.signature, key: auth.signingKey, date: auth.date, scope: auth.scope)
        let tamper = input.int(in: 0...65_535)
        var data: [UInt8] = [], body: [UInt8] = []
        var sensitive: [Int] = []  // body offsets of data and signature bytes
        func signedChunk(_ chunk: [UInt8]) {
            if variant == 2 {
                body += Array("\(String(chunk.count, radix: 16))\r\n".utf8)
                sensitive += (body.count..<(body.count + chunk.count))
                body += chunk
                if !chunk.isEmpty { body += Array("\r\n".utf8) }
                return
            }
            let encoded = chain.encode(chunk: chunk)
            let headerLength = encoded.firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            sensitive += ((body.count + headerLength - 66)..<(body.count + headerLength - 2))
            sensitive += ((body.count + headerLength)..<(body.count + headerLength + chunk.count))
            body += encoded
        }
        while !input.isEmpty {
            let chunk = input.take(input.int(in: 1...300))
            guard !chunk.isEmpty else { break }  // an empty chunk is the final one
            data += chunk
            signedChunk(chunk)
        }
        signedChunk([])
        if variant == 0 {
            body += Array("\r\n".utf8)
        } else {
            let trailer = [("x-amz-checksum-crc32c", "sOO8/Q==")]
            body += Array("x-amz-checksum-crc32c:sOO8/Q==\r\n".utf8)
            if variant == 1 {
                let signature = chain.signTrailer(trailer)
                let start = body.count + "x-amz-trailer-signature:".utf8.count
                sensitive += (start..<(start + 64))
                body += Array("x-amz-trailer-signature:\(signature)\r\n".utf8)
            }
            body += Array("\r\n".utf8)
        }
        let decoded = decode(body, variant: variant, seed: seed, decodedLength: data.count)
        fuzzCheck(decoded == data, "an aws-chunked body we encoded decoded to \(decoded.map { "\($0.count) other bytes" } ?? "an error")")
        guard variant != 2, !sensitive.isEmpty else { return }
        var bad = body
        let at = sensitive[tamper % sensitive.count]
        bad[at] = bad[at] == UInt8(ascii: "0") ? UInt8(ascii: "1") : (bad[at] ^ 0x01 == UInt8(ascii: "\r") ? bad[at] ^ 0x02 : bad[at] ^ 0x01)
        fuzzCheck(decode(bad, variant: variant, seed: seed, decodedLength: data.count) == nil,
                  "an aws-chunked body with byte \(at) changed was accepted")
    }

    /// The POST policy document reader (the JSON after base64 decoding), then the policy's
    /// conditions checked against a fixed form.
    static let postPolicy = FuzzTarget("post-policy") { bytes in
        guard let policy = try? PostPolicy(jsonDocument: Data(bytes)) else { return }
        _ = policy.contentLengthRange
        _ = policy.jsonDocument
        for condition in policy.conditions { _ = condition.field }
    }
}
