/// A reader of the one JSON shape Hoist's hot paths take: an object whose fields are
/// scalars or arrays of strings (the `POST /upload-url` body, a JWT's header and claims).
/// Other nested values (of fields the reader's user ignores) are checked and skipped.
///
/// Those small documents are parsed on every request; Foundation's `JSONSerialization`
/// and `JSONDecoder` build intermediate values and cost more than signing a URL. This
/// reader works on the bytes and keeps only the top level.
///
/// ```swift
/// let fields = try FlatJSON.object(Array(#"{"size": 10, "aud": ["a", "b"], "tags": [1, 2]}"#.utf8))
/// // fields["size"] == .number("10"), fields["aud"] == .strings(["a", "b"]), fields["tags"] == .nested
/// ```
///
/// It follows RFC 8259: whitespace, string escapes (with `\u` surrogate pairs),
/// number syntax and literals are checked as strictly as a general parser does.
/// A repeated field keeps its last value.
public enum FlatJSON {
    /// A top-level field's value.
    public enum Value: Equatable, Sendable {
        case string(String)
        /// The number as written, already checked against JSON's grammar.
        case number(String)
        case bool(Bool)
        case null
        /// An array whose elements are all strings (`[]` included).
        case strings([String])
        /// An object, or an array with an element that is not a string.
        case nested
    }

    /// Why the bytes were refused.
    public enum Failure: Error, Equatable, Sendable {
        /// Not JSON at all.
        case invalid
        /// Valid JSON, but not an object.
        case notAnObject
    }

    /// The deepest nesting accepted, for values that are skipped.
    public static let maximumDepth = 64

    /// The fields of the JSON object in `bytes`.
    ///
    /// - Throws: ``Failure/invalid`` for malformed JSON (or nesting deeper than
    ///   ``maximumDepth``), ``Failure/notAnObject`` for a valid non-object.
    public static func object(_ bytes: [UInt8]) throws(Failure) -> [String: Value] {
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        guard reader.peek == UInt8(ascii: "{") else {
            // Say "not an object" only for JSON that is valid.
            _ = try reader.value()
            reader.skipWhitespace()
            throw reader.atEnd ? .notAnObject : .invalid
        }
        reader.index += 1
        var fields: [String: Value] = [:]
        reader.skipWhitespace()
        if reader.peek == UInt8(ascii: "}") {
            reader.index += 1
        } else {
            while true {
                reader.skipWhitespace()
                let name = try reader.string()
                reader.skipWhitespace()
                try reader.expect(UInt8(ascii: ":"))
                reader.skipWhitespace()
                fields[name] = try reader.value()
                reader.skipWhitespace()
                if reader.peek == UInt8(ascii: ",") {
                    reader.index += 1
                    continue
                }
                try reader.expect(UInt8(ascii: "}"))
                break
            }
        }
        reader.skipWhitespace()
        guard reader.atEnd else { throw .invalid }
        return fields
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index >= bytes.count }
        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8) throws(Failure) {
            guard peek == byte else { throw .invalid }
            index += 1
        }

        /// A value at the top level of the object: scalars are kept, containers skipped.
        mutating func value() throws(Failure) -> Value {
            guard let byte = peek else { throw .invalid }
            switch byte {
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                let start = index
                if let strings = try? stringArray() { return .strings(strings) }
                index = start
                try skipContainer()
                return .nested
            case UInt8(ascii: "{"):
                try skipContainer()
                return .nested
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            default:
                let start = index
                try number()
                return .number(String(decoding: bytes[start..<index], as: UTF8.self))
            }
        }

        /// `[ "…", "…" ]`; fails at the first element that is not a string (the caller then skips the array).
        mutating func stringArray() throws(Failure) -> [String] {
            try expect(UInt8(ascii: "["))
            var strings: [String] = []
            skipWhitespace()
            if peek == UInt8(ascii: "]") {
                index += 1
                return strings
            }
            while true {
                skipWhitespace()
                strings.append(try string())
                skipWhitespace()
                if peek == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return strings
            }
        }

        mutating func literal(_ word: StaticString) throws(Failure) {
            let count = word.utf8CodeUnitCount
            guard bytes.count - index >= count else { throw .invalid }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { throw .invalid }
            index += count
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func number() throws(Failure) {
            if peek == UInt8(ascii: "-") { index += 1 }
            guard let first = peek, isDigit(first) else { throw .invalid }
            index += 1
            if first != UInt8(ascii: "0") { skipDigits() }
            if peek == UInt8(ascii: ".") {
                index += 1
                guard let next = peek, isDigit(next) else { throw .invalid }
                skipDigits()
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard let next = peek, isDigit(next) else { throw .invalid }
                skipDigits()
            }
        }

        private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

        private mutating func skipDigits() {
            while let byte = peek, isDigit(byte) { index += 1 }
        }

        /// A string, unescaped. Raw control characters and malformed escapes or UTF-8 are refused.
        mutating func string() throws(Failure) -> String {
            try expect(UInt8(ascii: "\""))
            let start = index
            // The common case: no escapes, copied whole.
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    let text = try validUTF8(bytes[start..<index])
                    index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                guard byte >= 0x20 else { throw .invalid }
                index += 1
            }
            var out = Array(bytes[start..<index])
            while true {
                guard let byte = peek else { throw .invalid }
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return try validUTF8(out[...])
                case UInt8(ascii: "\\"):
                    try escape(into: &out)
                case 0..<0x20:
                    throw .invalid
                default:
                    out.append(byte)
                }
            }
        }

        private func validUTF8(_ slice: ArraySlice<UInt8>) throws(Failure) -> String {
            // ASCII (the usual case) needs no validation; `String(validating:)` is generic and slow.
            if slice.allSatisfy({ $0 < 0x80 }) { return String(decoding: slice, as: UTF8.self) }
            guard let text = String(validating: slice, as: UTF8.self) else { throw .invalid }
            return text
        }

        private mutating func escape(into out: inout [UInt8]) throws(Failure) {
            guard let byte = peek else { throw .invalid }
            index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw .invalid
                    }
                    index += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw .invalid }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw .invalid
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw .invalid }
                out.append(contentsOf: String(Character(unicode)).utf8)
            default:
                throw .invalid
            }
        }

        private mutating func hex4() throws(Failure) -> UInt32 {
            guard bytes.count - index >= 4 else { throw .invalid }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let nibble: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = byte - UInt8(ascii: "A") + 10
                default: throw .invalid
                }
                value = value << 4 | UInt32(nibble)
                index += 1
            }
            return value
        }

        /// Checks and skips an object or array, with an explicit stack (no recursion).
        mutating func skipContainer() throws(Failure) {
            // true: inside an object; false: inside an array.
            var stack: [Bool] = []
            // What may come next inside the innermost container.
            enum Expect { case firstOrClose, value, separatorOrClose }
            var next = Expect.value
            while true {
                skipWhitespace()
                guard let byte = peek else { throw .invalid }
                switch next {
                case .firstOrClose, .separatorOrClose:
                    let close = stack.last == true ? UInt8(ascii: "}") : UInt8(ascii: "]")
                    if byte == close {
                        index += 1
                        stack.removeLast()
                        if stack.isEmpty { return }
                        next = .separatorOrClose
                        continue
                    }
                    if next == .separatorOrClose {
                        try expect(UInt8(ascii: ","))
                    }
                    if stack.last == true {
                        skipWhitespace()
                        _ = try string()
                        skipWhitespace()
                        try expect(UInt8(ascii: ":"))
                    }
                    next = .value
                case .value:
                    if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                        guard stack.count < FlatJSON.maximumDepth else { throw .invalid }
                        stack.append(byte == UInt8(ascii: "{"))
                        index += 1
                        next = .firstOrClose
                    } else {
                        _ = try value()
                        next = .separatorOrClose
                    }
                }
            }
        }
    }
}
