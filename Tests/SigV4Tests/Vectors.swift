import Foundation
import SigV4

/// Finds and reads the SigV4 vectors: AWS's SigV4 test suite and the S3 API
/// Reference's worked examples, kept as this target's resources
/// (`Resources/vectors`), or a folder named by `HOIST_VECTORS_DIR`.
enum Vectors {
    static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["HOIST_VECTORS_DIR"], !override.isEmpty {
            return URL(fileURLWithPath: override)
        }
        return Bundle.module.resourceURL?.appendingPathComponent("vectors")
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/vectors")
    }()

    static var sigv4: URL { directory.appendingPathComponent("sigv4") }
    static var s3: URL { directory.appendingPathComponent("s3") }

    /// The case folders of the generic suite, sorted. Empty when the folder is missing
    /// (a test asserts it is not).
    static let sigv4Cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sigv4.path)) ?? []
        return names.filter { name in
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: sigv4.appendingPathComponent(name).path, isDirectory: &isDir) && isDir.boolValue
        }.sorted()
    }()

    static func text(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8)
    }

    static func json(_ url: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw VectorError("\(url.lastPathComponent) is not a JSON object")
        }
        return object
    }
}

struct VectorError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A raw HTTP request of the suite's `request.txt` / `*-signed-request.txt` files.
struct RawRequest {
    var method: String
    var target: String
    var headers: [(String, String)]
    var body: [UInt8]

    /// Parses `METHOD target HTTP/1.1`, `Name:value` lines (a line starting with
    /// whitespace continues the previous value), a blank line, the body.
    init(_ text: String) throws {
        var lines = text.components(separatedBy: "\n")
        guard !lines.isEmpty else { throw VectorError("empty request") }
        let requestLine = lines.removeFirst()
        guard let firstSpace = requestLine.firstIndex(of: " "), let lastSpace = requestLine.lastIndex(of: " "), firstSpace < lastSpace else {
            throw VectorError("bad request line: \(requestLine)")
        }
        method = String(requestLine[..<firstSpace])
        target = String(requestLine[requestLine.index(after: firstSpace)..<lastSpace])
        headers = []
        var bodyLines: [String]? = nil
        for line in lines {
            if bodyLines != nil { bodyLines!.append(line); continue }
            if line.isEmpty { bodyLines = []; continue }
            if line.first == " " || line.first == "\t" {
                guard !headers.isEmpty else { throw VectorError("continuation without header") }
                headers[headers.count - 1].1 += "\n" + line
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { throw VectorError("bad header line: \(line)") }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
        }
        body = Array((bodyLines ?? []).joined(separator: "\n").utf8)
    }

    var path: String { target.firstIndex(of: "?").map { String(target[..<$0]) } ?? target }
    var rawQuery: String { target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } ?? "" }

    /// The decoded query pairs, in order.
    var decodedQuery: [(String, String)] {
        rawQuery.split(separator: "&").map { part in
            let eq = part.firstIndex(of: "=")
            let name = eq.map { part[..<$0] } ?? part
            let value = eq.map { part[part.index(after: $0)...] } ?? ""
            return (S3URIEncoding.decode(name) ?? String(name), S3URIEncoding.decode(value) ?? String(value))
        }
    }

    var received: ReceivedRequest { ReceivedRequest(method: method, target: target, headers: headers) }
}

import Testing

/// Expects `body` to throw a ``SigV4Error`` with `code`.
func expectError(_ code: SigV4Error.Code, sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () throws -> Void) {
    let error = #expect(throws: SigV4Error.self, sourceLocation: sourceLocation) { try body() }
    #expect(error?.code == code, "got \(error.map { "\($0)" } ?? "no error"), expected \(code)", sourceLocation: sourceLocation)
}
