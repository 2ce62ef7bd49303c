import Foundation
import Hummingbird
import NIOCore
import Testing
@testable import ObjectStore

@Suite struct FormDataReaderTests {
    static let boundary = "----hoistFormBoundaryQ2x"

    /// A body as a browser sends it: a preamble, fields (one with a filename attribute), the file, a field after it.
    static func body(file: [UInt8]) -> [UInt8] {
        var out = Array("preamble to be ignored\r\n".utf8)
        out += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${filename}\r\n".utf8)
        out += Array("--\(boundary)  \r\ncontent-disposition: form-data; name=\"x-amz-meta-note\"; filename=\"n.txt\"\r\nContent-Type: text/plain\r\n\r\na \"quoted\"; value\r\n".utf8)
        out += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"my \\\"cat\\\".png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
        out += file
        out += Array("\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nx\r\n--\(boundary)--\r\nepilogue".utf8)
        return out
    }

    /// `bytes` as a request body arriving in pieces of `size` bytes.
    static func stream(_ bytes: [UInt8], pieces size: Int) -> RequestBody {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        var offset = 0
        while offset < bytes.count {
            continuation.yield(ByteBuffer(bytes: bytes[offset..<min(bytes.count, offset + size)]))
            offset += size
        }
        continuation.finish()
        return RequestBody(asyncSequence: stream)
    }

    @Test(arguments: [1, 2, 3, 7, 26, 27, 28, 64, 4096])
    func partsSurviveAnyChunking(pieceSize: Int) async throws {
        // File bytes that contain most of a delimiter, CRLFs and dashes.
        let file = Array("\r\n--\(Self.boundary.dropLast())\r\n--\r\n\r\n".utf8) + (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 13) } + Array("\r\n-".utf8)
        var reader = FormDataReader(body: Self.stream(Self.body(file: file), pieces: pieceSize), boundary: Self.boundary)
        var fields: [(String, String, String?)] = []
        var received: [UInt8] = []
        var fileName: String?
        while let part = try await reader.nextPart() {
            if part.name == "file" {
                fileName = part.filename
                #expect(part.contentType == "image/png")
                try await reader.streamPart { received += $0 }
            } else {
                fields.append((part.name, String(decoding: try await reader.readPart(limit: 1000), as: UTF8.self), part.filename))
            }
        }
        #expect(reader.reachedEnd)
        #expect(received == file)
        #expect(fileName == "my \"cat\".png")
        #expect(fields.map(\.0) == ["key", "x-amz-meta-note", "after"])
        #expect(fields.map(\.1) == ["uploads/${filename}", "a \"quoted\"; value", "x"])
        #expect(fields[1].2 == "n.txt")
    }

    @Test func limitsAndMalformedBodies() async throws {
        var reader = FormDataReader(body: Self.stream(Self.body(file: [1]), pieces: 5), boundary: Self.boundary)
        _ = try await reader.nextPart()
        await #expect(throws: FormDataReader.Failure.self) { try await reader.readPart(limit: 3) }

        var truncated = FormDataReader(body: Self.stream(Array(Self.body(file: [1, 2, 3]).prefix(300)), pieces: 50),
                                       boundary: Self.boundary)
        await #expect(throws: FormDataReader.Failure.self) {
            while let part = try await truncated.nextPart() { _ = try await truncated.readPart(limit: 10_000); _ = part }
        }

        let noName = Array("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--".utf8)
        var nameless = FormDataReader(body: Self.stream(noName, pieces: 4), boundary: "b")
        await #expect(throws: FormDataReader.Failure.self) { _ = try await nameless.nextPart() }

        let endless = Array("--b\r\nContent-Disposition: form-data; name=\"a\"\r\nX-Long: ".utf8) + [UInt8](repeating: 0x41, count: 20_000)
        var long = FormDataReader(body: Self.stream(endless, pieces: 1000), boundary: "b")
        await #expect(throws: FormDataReader.Failure.self) { _ = try await long.nextPart() }
    }

    @Test(arguments: [
        ("multipart/form-data; boundary=abc", "abc"),
        ("Multipart/Form-Data; charset=utf-8; Boundary=\"a b\"", "a b"),
        ("multipart/mixed; boundary=abc", nil),
        ("multipart/form-data", nil),
        ("application/x-www-form-urlencoded", nil),
    ] as [(String, String?)])
    func boundaryFromContentType(contentType: String, expected: String?) {
        #expect(FormDataReader.boundary(contentType: contentType) == expected)
    }
}
