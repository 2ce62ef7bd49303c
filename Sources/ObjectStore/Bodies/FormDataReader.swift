import Foundation
import Hummingbird
import NIOCore

/// Reads a `multipart/form-data` body (RFC 7578) part by part as it streams in.
///
/// Small fields are collected whole (up to a limit); a file part is handed on
/// in pieces as its bytes arrive, holding back only the few bytes that could be
/// the start of the next boundary, so memory does not grow with the file.
///
/// ```swift
/// var reader = FormDataReader(body: request.body, boundary: boundary)
/// while let part = try await reader.nextPart() {
///     if part.name == "file" { try await reader.streamPart({ try sink.append($0) }, afterEach: { try await sink.drain() }) }
///     else { fields.append((part.name, try await reader.readPart(limit: 20_480))) }
/// }
/// ```
package struct FormDataReader {
    /// One part's headers.
    package struct Part {
        /// The `name` of its `Content-Disposition`.
        package let name: String
        /// The `filename` of its `Content-Disposition`, when it has one.
        package let filename: String?
        /// Its `Content-Type`, when it has one.
        package let contentType: String?
    }

    /// Why a body is not valid multipart/form-data, or breaks a limit.
    package enum Failure: Error {
        case malformed(String)
        case tooLarge
    }

    private var iterator: RequestBody.AsyncIterator
    /// The bytes received and not consumed yet are `buffer[position...]`.
    private var buffer: [UInt8]
    private var position = 0
    private var finished = false
    /// `CRLF--boundary`: what ends every part's content.
    private let delimiter: [UInt8]
    /// Whether the closing delimiter (`--boundary--`) was read.
    package private(set) var reachedEnd = false

    /// The largest header block of one part.
    static let maximumHeaderSize = 8 * 1024

    /// Starts reading `body`, whose parts are separated by `boundary` (from the `Content-Type`).
    package init(body: RequestBody, boundary: String) {
        iterator = body.makeAsyncIterator()
        delimiter = Array("\r\n--\(boundary)".utf8)
        // The first boundary has no CRLF before it: supplying one lets one search find them all.
        buffer = [0x0D, 0x0A]
    }

    /// The boundary parameter of a `multipart/form-data` content type, or `nil` if it is not one.
    static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let first = parts.first, first.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parts.dropFirst() {
            guard let eq = parameter.firstIndex(of: "=") else { continue }
            guard parameter[..<eq].trimmingCharacters(in: .whitespaces).lowercased() == "boundary" else { continue }
            var value = parameter[parameter.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count) else { return nil }
            return value
        }
        return nil
    }

    // MARK: Parts

    /// Moves to the next part and reads its headers; `nil` after the last part.
    ///
    /// Skips whatever is left of the current part. The first call skips the preamble.
    package mutating func nextPart() async throws -> Part? {
        guard !reachedEnd else { return nil }
        try await skipToDelimiter()
        // After a delimiter: `--` ends the body; otherwise optional whitespace, then CRLF.
        try await need(2)
        if buffer[position] == 0x2D && buffer[position + 1] == 0x2D {
            reachedEnd = true
            return nil
        }
        var found = find([0x0D, 0x0A, 0x0D, 0x0A], from: position)
        while found == nil {
            guard buffer.count - position <= Self.maximumHeaderSize else { throw Failure.malformed("A part's headers are too long.") }
            guard try await fill() else { throw Failure.malformed("The body ended inside a part's headers.") }
            found = find([0x0D, 0x0A, 0x0D, 0x0A], from: position)
        }
        guard let headerEnd = found else { throw Failure.malformed("The body ended inside a part's headers.") }
        let block = String(decoding: buffer[position..<headerEnd], as: UTF8.self)
        position = headerEnd + 4
        var lines = block.components(separatedBy: "\r\n")
        // The rest of the boundary line (transport padding) comes first.
        guard let first = lines.first, first.allSatisfy({ $0 == " " || $0 == "\t" }) else {
            throw Failure.malformed("A boundary is followed by something other than a line break.")
        }
        lines.removeFirst()
        var name: String?
        var filename: String?
        var contentType: String?
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed("A part header has no colon.") }
            let field = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            switch field {
            case "content-disposition":
                let parameters = Self.parameters(value)
                guard parameters.type == "form-data" else { throw Failure.malformed("A part is not form-data.") }
                name = parameters.values["name"]
                filename = parameters.values["filename"]
            case "content-type":
                contentType = value
            default:
                break
            }
        }
        guard let name else { throw Failure.malformed("A part has no Content-Disposition name.") }
        return Part(name: name, filename: filename, contentType: contentType)
    }

    /// Reads the current part's content whole.
    ///
    /// - Throws: ``Failure/tooLarge`` past `limit` bytes.
    package mutating func readPart(limit: Int) async throws -> [UInt8] {
        var collected: [UInt8] = []
        try await streamPart { bytes in
            guard collected.count + bytes.count <= limit else { throw Failure.tooLarge }
            collected.append(contentsOf: bytes)
        }
        return collected
    }

    /// Hands the current part's content to `emit` in pieces as it arrives,
    /// up to (not including) the next delimiter.
    ///
    /// - Parameters:
    ///   - emit: Takes each piece, synchronously (the bytes are valid only during the call).
    ///   - afterEach: Runs after each piece, before more of the body is read: where a
    ///     consumer that buffered the piece in `emit` writes it out (e.g. ``UploadSink/drain()``).
    package mutating func streamPart(
        _ emit: (UnsafeRawBufferPointer) throws -> Void,
        afterEach: () async throws -> Void = {}
    ) async throws {
        while true {
            if let found = find(delimiter, from: position) {
                try emitRange(position..<found, emit)
                position = found
                try await afterEach()
                return
            }
            // Everything but a possible start of the delimiter is content.
            let safe = max(position, buffer.count - (delimiter.count - 1))
            try emitRange(position..<safe, emit)
            position = safe
            try await afterEach()
            guard try await fill() else { throw Failure.malformed("The body ended inside a part.") }
        }
    }

    /// Reads and discards the rest of the body.
    mutating func drain() async throws {
        buffer = []
        position = 0
        while try await iterator.next() != nil {}
        finished = true
    }

    // MARK: Buffer

    private func emitRange(_ range: Range<Int>, _ emit: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !range.isEmpty else { return }
        try buffer.withUnsafeBytes { raw in try emit(UnsafeRawBufferPointer(rebasing: raw[range])) }
    }

    /// Skips to just after the next delimiter.
    private mutating func skipToDelimiter() async throws {
        while true {
            if let found = find(delimiter, from: position) {
                position = found + delimiter.count
                return
            }
            position = max(position, buffer.count - (delimiter.count - 1))
            guard try await fill() else { throw Failure.malformed("The body ended before the closing boundary.") }
        }
    }

    /// Makes sure `count` unconsumed bytes are buffered.
    private mutating func need(_ count: Int) async throws {
        while buffer.count - position < count {
            guard try await fill() else { throw Failure.malformed("The body ended unexpectedly.") }
        }
    }

    /// Appends the next chunk of the body, dropping consumed bytes first; `false` at the end.
    private mutating func fill() async throws -> Bool {
        guard !finished else { return false }
        guard let chunk = try await iterator.next() else {
            finished = true
            return false
        }
        if position > 0 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        buffer.append(contentsOf: chunk.readableBytesView)
        return true
    }

    /// The index of the first occurrence of `pattern` in the buffer at or after `start`.
    private func find(_ pattern: [UInt8], from start: Int) -> Int? {
        let count = buffer.count
        guard let first = pattern.first, count - start >= pattern.count else { return nil }
        return buffer.withUnsafeBufferPointer { bytes -> Int? in
            pattern.withUnsafeBufferPointer { p -> Int? in
                var i = start
                let last = count - p.count
                while i <= last {
                    if bytes[i] == first {
                        var j = 1
                        while j < p.count && bytes[i + j] == p[j] { j += 1 }
                        if j == p.count { return i }
                    }
                    i += 1
                }
                return nil
            }
        }
    }

    /// A header value's type and its `;`-separated parameters (quoted strings unescaped).
    static func parameters(_ value: String) -> (type: String, values: [String: String]) {
        var values: [String: String] = [:]
        var items: [String] = []
        var current = ""
        var quoted = false
        var escaped = false
        for c in value {
            if escaped {
                current.append(c)
                escaped = false
            } else if quoted && c == "\\" {
                current.append(c)
                escaped = true
            } else if c == "\"" {
                quoted.toggle()
                current.append(c)
            } else if c == ";" && !quoted {
                items.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        items.append(current)
        let type = items.first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        for item in items.dropFirst() {
            guard let eq = item.firstIndex(of: "=") else { continue }
            let key = item[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var raw = item[item.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if raw.count >= 2, raw.hasPrefix("\""), raw.hasSuffix("\"") {
                raw = String(raw.dropFirst().dropLast())
                var unescaped = ""
                var pendingEscape = false
                for c in raw {
                    if pendingEscape || c != "\\" {
                        unescaped.append(c)
                        pendingEscape = false
                    } else {
                        pendingEscape = true
                    }
                }
                raw = unescaped
            }
            values[key] = raw
        }
        return (type, values)
    }
}
