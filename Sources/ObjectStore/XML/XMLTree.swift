import Foundation

/// A parsed XML element: enough of a DOM for S3's small request documents
/// (CORS, lifecycle, notification and versioning configurations, delete-objects,
/// complete-multipart).
///
/// Parsed by ``XMLTree/parse(_:)``, a byte-level reader written for hostile input:
/// it never hands bytes to Foundation's `XMLParser` (which traps on Linux on invalid
/// UTF-8 in an element name), checks the whole document is UTF-8 before it looks
/// at a name, refuses DTDs (so no entity expansion and no external entities),
/// bounds nesting depth and element count, and reports every problem as
/// `400 MalformedXML`.
///
/// ```swift
/// let root = try XMLTree.parse(Data("<A xmlns='…'><B>x &amp; y</B></A>".utf8))
/// root.child("B")?.text   // "x & y"
/// ```
package struct XMLTree: Sendable, Equatable {
    /// The element's local name (a namespace prefix, if any, removed).
    package var name: String
    /// The element's own character data (text and CDATA, entities decoded,
    /// whitespace kept), not that of its children.
    package var text: String
    /// The child elements, in document order.
    package var children: [XMLTree]

    /// The first child named `name`.
    package func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }
    /// Every child named `name`, in document order.
    package func children(named name: String) -> [XMLTree] { children.filter { $0.name == name } }

    /// Nesting deeper than this is refused (S3's deepest document, lifecycle, needs 6).
    static let maximumDepth = 32
    /// More elements than this in one document are refused. The largest S3 allows is a
    /// CompleteMultipartUpload of 10,000 parts, each with a number, an ETag and up to
    /// five checksums: about 80,000.
    static let maximumElements = 100_000

    /// Parses a document (no DTDs, no external entities).
    ///
    /// - Parameter data: the request body.
    /// - Returns: the root element.
    /// - Throws: ``S3Error`` `MalformedXML` when `data` is not well-formed UTF-8 XML,
    ///   holds a DTD, or exceeds ``maximumDepth`` or ``maximumElements``.
    package static func parse(_ data: Data) throws -> XMLTree {
        // Every name and text slice below is cut at ASCII delimiters, so once the whole
        // document is valid UTF-8 each slice is too.
        guard String(validating: data, as: UTF8.self) != nil else { throw malformed }
        var reader = XMLByteReader(bytes: [UInt8](data))
        return try reader.document()
    }

    static var malformed: S3Error {
        S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
    }
}

/// The byte-level reader behind ``XMLTree/parse(_:)``: XML 1.0's document production
/// (§2.1) without DTDs, iterative (no recursion, so depth costs no stack).
private struct XMLByteReader {
    let bytes: [UInt8]
    var index = 0
    var elements = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    private var atEnd: Bool { index >= bytes.count }
    private func peek(_ offset: Int = 0) -> UInt8? {
        index + offset < bytes.count ? bytes[index + offset] : nil
    }
    private func has(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { lit in
            for i in 0..<count where bytes[index + i] != lit[i] { return false }
            return true
        }
    }
    private mutating func expect(_ literal: StaticString) throws {
        guard has(literal) else { throw XMLTree.malformed }
        index += literal.utf8CodeUnitCount
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
    private static func isNameStart(_ b: UInt8) -> Bool {
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x3A || b >= 0x80
    }
    private static func isNameByte(_ b: UInt8) -> Bool {
        isNameStart(b) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x2E
    }

    private mutating func skipSpace() {
        while let b = peek(), Self.isSpace(b) { index += 1 }
    }

    /// document ::= prolog element Misc*
    mutating func document() throws -> XMLTree {
        if has("\u{FEFF}") { index += 3 }
        if has("<?xml") , let after = peek(5), Self.isSpace(after) { try skipUntil("?>") }
        try misc()
        guard peek() == UInt8(ascii: "<") else { throw XMLTree.malformed }
        let root = try element()
        try misc()
        guard atEnd else { throw XMLTree.malformed }
        return root
    }

    /// Misc ::= Comment | PI | S  (a DOCTYPE is refused: no DTDs at all)
    private mutating func misc() throws {
        while true {
            skipSpace()
            if has("<!--") {
                try comment()
            } else if has("<?") {
                try processingInstruction()
            } else {
                return
            }
        }
    }

    private mutating func skipUntil(_ terminator: StaticString) throws {
        while !atEnd {
            if has(terminator) { index += terminator.utf8CodeUnitCount; return }
            index += 1
        }
        throw XMLTree.malformed
    }

    /// Comment ::= '<!--' ((Char - '-') | ('-' (Char - '-')))* '-->'
    private mutating func comment() throws {
        index += 4
        while !atEnd {
            if has("--") {
                try expect("-->")
                return
            }
            index += 1
        }
        throw XMLTree.malformed
    }

    /// PI ::= '<?' PITarget ... '?>' (the target may not be `xml` after the prolog)
    private mutating func processingInstruction() throws {
        index += 2
        let target = try name()
        if target.lowercased() == "xml" { throw XMLTree.malformed }
        try skipUntil("?>")
    }

    /// Name, returned with any namespace prefix removed.
    private mutating func name() throws -> String {
        guard let first = peek(), Self.isNameStart(first) else { throw XMLTree.malformed }
        let start = index
        while let b = peek(), Self.isNameByte(b) { index += 1 }
        var localStart = start
        for i in start..<index where bytes[i] == UInt8(ascii: ":") { localStart = i + 1 }
        guard localStart < index else { throw XMLTree.malformed }
        return String(decoding: bytes[localStart..<index], as: UTF8.self)
    }

    /// The raw name (with prefix), for matching an end tag against its start tag.
    private func rawName(from start: Int) -> ArraySlice<UInt8> {
        var end = start
        while end < bytes.count, Self.isNameByte(bytes[end]) { end += 1 }
        return bytes[start..<end]
    }

    /// element ::= EmptyElemTag | STag content ETag, read without recursion.
    private mutating func element() throws -> XMLTree {
        var stack: [(tree: XMLTree, raw: ArraySlice<UInt8>)] = []
        while true {
            // At a '<' that opens a start tag.
            index += 1
            let rawStart = index
            let raw = rawName(from: rawStart)
            let name = try name()
            elements += 1
            guard elements <= XMLTree.maximumElements, stack.count < XMLTree.maximumDepth else { throw XMLTree.malformed }
            let empty = try attributes()
            let opened = XMLTree(name: name, text: "", children: [])
            if empty {
                if stack.isEmpty { return opened }
                stack[stack.count - 1].tree.children.append(opened)
            } else {
                stack.append((opened, raw))
            }
            // Content until the next start tag, or until end tags close everything.
            while true {
                guard let top = stack.indices.last else { break }
                try characterData(into: &stack[top].tree.text)
                if has("</") {
                    index += 2
                    let endRaw = rawName(from: index)
                    guard endRaw.elementsEqual(stack[top].raw) else { throw XMLTree.malformed }
                    index += endRaw.count
                    skipSpace()
                    try expect(">")
                    let done = stack.removeLast().tree
                    if stack.isEmpty { return done }
                    stack[stack.count - 1].tree.children.append(done)
                } else if has("<!--") {
                    try comment()
                } else if has("<![CDATA[") {
                    index += 9
                    let start = index
                    try skipUntil("]]>")
                    stack[top].tree.text += Self.normalisedText(bytes[start..<(index - 3)])
                } else if has("<?") {
                    try processingInstruction()
                } else if has("<!") {
                    throw XMLTree.malformed  // a DOCTYPE or other declaration inside content
                } else if peek() == UInt8(ascii: "<") {
                    break  // a child's start tag
                } else {
                    throw XMLTree.malformed  // end of input inside an element
                }
            }
        }
    }

    /// (S Attribute)* S? ('>' | '/>'); attribute values are checked, then dropped
    /// (S3's documents carry meaning only in `xmlns`). Returns whether the tag was empty.
    private mutating func attributes() throws -> Bool {
        // A set, not a list: a list made an element of n attributes cost n² comparisons,
        // and a CompleteMultipartUpload body may hold 8 MB of them.
        var seen: Set<ArraySlice<UInt8>> = []
        while true {
            let hadSpace = peek().map(Self.isSpace) ?? false
            skipSpace()
            if has("/>") { index += 2; return true }
            if has(">") { index += 1; return false }
            guard hadSpace else { throw XMLTree.malformed }
            let raw = rawName(from: index)
            _ = try name()
            guard seen.insert(raw).inserted else { throw XMLTree.malformed }
            skipSpace()
            try expect("=")
            skipSpace()
            guard let quote = peek(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw XMLTree.malformed }
            index += 1
            var ignored = ""
            while true {
                guard let b = peek() else { throw XMLTree.malformed }
                if b == quote { index += 1; break }
                if b == UInt8(ascii: "<") { throw XMLTree.malformed }
                if b == UInt8(ascii: "&") { ignored += try reference() } else { index += 1 }
            }
        }
    }

    /// CharData and references up to the next '<', appended to `text`.
    private mutating func characterData(into text: inout String) throws {
        var start = index
        while let b = peek(), b != UInt8(ascii: "<") {
            if b == UInt8(ascii: "&") {
                text += Self.normalisedText(bytes[start..<index])
                text += try reference()
                start = index
            } else if b == UInt8(ascii: ">"), index >= 2, bytes[index - 1] == UInt8(ascii: "]"), bytes[index - 2] == UInt8(ascii: "]") {
                throw XMLTree.malformed  // ']]>' may not appear in text
            } else if b < 0x20, !Self.isSpace(b) {
                throw XMLTree.malformed  // control characters are not XML 1.0 characters
            } else {
                index += 1
            }
        }
        text += Self.normalisedText(bytes[start..<index])
    }

    /// Reference ::= '&' Name ';' | '&#' [0-9]+ ';' | '&#x' [0-9a-fA-F]+ ';'
    /// Only the five predefined entities exist (there is no DTD to declare others).
    private mutating func reference() throws -> String {
        index += 1
        let start = index
        while let b = peek(), b != UInt8(ascii: ";") {
            guard index - start < 12 else { throw XMLTree.malformed }
            index += 1
        }
        guard peek() == UInt8(ascii: ";") else { throw XMLTree.malformed }
        let body = bytes[start..<index]
        index += 1
        switch String(decoding: body, as: UTF8.self) {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        case let other where other.hasPrefix("#x"):
            return try Self.character(UInt32(other.dropFirst(2), radix: 16))
        case let other where other.hasPrefix("#"):
            return try Self.character(UInt32(other.dropFirst(), radix: 10))
        default:
            throw XMLTree.malformed
        }
    }

    /// Char ::= #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
    private static func character(_ value: UInt32?) throws -> String {
        guard let value, value == 0x9 || value == 0xA || value == 0xD || (value >= 0x20 && value != 0xFFFE && value != 0xFFFF),
              let scalar = Unicode.Scalar(value) else { throw XMLTree.malformed }
        return String(Character(scalar))
    }

    /// Text with XML's end-of-line handling (§2.11): CR LF and lone CR become LF.
    private static func normalisedText(_ slice: ArraySlice<UInt8>) -> String {
        guard slice.contains(0x0D) else { return String(decoding: slice, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(slice.count)
        var i = slice.startIndex
        while i < slice.endIndex {
            if slice[i] == 0x0D {
                out.append(0x0A)
                if i + 1 < slice.endIndex, slice[i + 1] == 0x0A { i += 1 }
            } else {
                out.append(slice[i])
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
