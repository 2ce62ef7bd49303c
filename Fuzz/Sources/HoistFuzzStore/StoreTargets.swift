import Foundation
import Hummingbird
import HoistFuzzKit
import NIOCore
import ObjectStore
import ObjectStoreEngine

/// The store's request documents (XML) and its `multipart/form-data` reader.
enum StoreTargets {
    static let boundary = "----hoistFormBoundaryQ2x"

    /// `bytes` as a request body arriving in pieces.
    static func body(_ bytes: [UInt8], seed: UInt8) -> RequestBody {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        for piece in pieces(of: bytes, seed: seed, maximum: 128) { continuation.yield(ByteBuffer(bytes: piece)) }
        continuation.finish()
        return RequestBody(asyncSequence: stream)
    }

    /// The form reader as the POST-object handler drives it, the body fed in random pieces
    /// (first byte: the piece sizes; second: which parts are streamed rather than collected).
    /// Every part's content must come out the same whichever way it is read.
    static let formData = FuzzTarget("form-data") { bytes in
        var input = FuzzInput(bytes)
        let seed = input.byte(), streamed = input.byte()
        let rest = input.rest()
        runBlocking {
            var reader = FormDataReader(body: body(rest, seed: seed), boundary: boundary)
            var index = 0
            do {
                while let _ = try await reader.nextPart(), index < 64 {
                    if streamed >> (index % 8) & 1 == 1 {
                        var total = 0
                        try await reader.streamPart { total += $0.count }
                    } else {
                        _ = try await reader.readPart(limit: 1024)
                    }
                    index += 1
                }
            } catch is FormDataReader.Failure {
            } catch {
                fuzzCheck(false, "the form reader threw something other than its Failure: \(error)")
            }
        }
    }

    /// The XML reader every store document goes through; the versioning, delete-objects,
    /// complete-multipart and create-bucket handlers read only its tree. The tree of an
    /// accepted document is then walked as those handlers walk it.
    static let xml = FuzzTarget("xml") { bytes in
        guard let root = try? XMLTree.parse(Data(bytes)) else { return }
        var stack = [root], elements = 0
        while let node = stack.popLast() {
            elements += 1
            fuzzCheck(!node.name.isEmpty, "an element with an empty name")
            stack.append(contentsOf: node.children)
        }
        fuzzCheck(elements <= 100_000, "\(elements) elements passed the element limit")
        // CompleteMultipartUpload: part numbers and ETags, as the handler reads them.
        for part in root.children(named: "Part") {
            _ = part.child("PartNumber").flatMap { Int($0.text.trimmingCharacters(in: .whitespacesAndNewlines)) }
            _ = part.child("ETag")?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        _ = root.child("Status")?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = root.children(named: "Object").map { $0.child("Key")?.text }
    }

    /// `PUT ?cors`, then the parsed rules matched against a request as the store does.
    static let cors = FuzzTarget("xml-cors") { bytes in
        guard let configuration = try? CORSConfiguration(xml: Data(bytes)) else { return }
        _ = configuration.rule(origin: "https://app.example.com", method: "PUT", headers: ["content-type", "x-amz-meta-a"])
        for rule in configuration.rules {
            for origin in rule.allowedOrigins.prefix(4) { _ = configuration.rule(origin: origin, method: "GET") }
        }
    }

    /// `PUT ?lifecycle`.
    static let lifecycle = FuzzTarget("xml-lifecycle") { bytes in
        _ = try? LifecycleConfiguration(xml: Data(bytes))
    }

    /// `PUT ?notification`.
    static let notification = FuzzTarget("xml-notification") { bytes in
        _ = try? NotificationXML.parse(Data(bytes))
    }

    /// A bucket policy document (JSON) as PutBucketPolicy reads it; an accepted one is evaluated
    /// for keys made from the input, and its patterns matched against them (bounded work).
    static let bucketPolicy = FuzzTarget("bucket-policy") { bytes in
        let policy: BucketPolicy
        do {
            policy = try BucketPolicy(json: Data(bytes), bucket: "site", resource: "/site")
        } catch let error as S3Error {
            fuzzCheck(error.code == .malformedPolicy, "a refused policy said \(error.code), not MalformedPolicy")
            return
        } catch {
            fuzzCheck(false, "the policy reader threw something other than S3Error: \(error)")
            return
        }
        let text = String(decoding: bytes.prefix(64), as: UTF8.self)
        for key in ["", "public/a.webp", text, String(text.reversed())] {
            _ = policy.allowsPublicRead(of: key, secureTransport: false)
            _ = policy.allowsPublicRead(of: key, secureTransport: true)
        }
        _ = policy.isPublic
    }
}
