import Foundation

/// Just enough XML for S3's small answers (`<Error>`, `<CopyObjectResult>`):
/// the text of the first element of a name, entities decoded.
///
/// S3's bodies are flat and machine-written, so a full parser buys nothing here.
enum S3XML {
    /// The decoded text of the first `<name>…</name>` in `xml`, or `nil`.
    static func text(of name: String, in xml: String) -> String? {
        guard let open = xml.range(of: "<\(name)>"),
              let close = xml.range(of: "</\(name)>", range: open.upperBound..<xml.endIndex) else { return nil }
        return decodeEntities(xml[open.upperBound..<close.lowerBound])
    }

    /// The name of the document's root element (`Error`, `CopyObjectResult`), skipping the declaration.
    static func rootElement(of xml: String) -> String? {
        var rest = Substring(xml)
        while let open = rest.firstIndex(of: "<") {
            let after = rest[rest.index(after: open)...]
            if after.hasPrefix("?") || after.hasPrefix("!") {
                guard let close = after.firstIndex(of: ">") else { return nil }
                rest = after[after.index(after: close)...]
                continue
            }
            let name = after.prefix { $0 != ">" && $0 != " " && $0 != "/" && !$0.isNewline }
            return name.isEmpty ? nil : String(name)
        }
        return nil
    }

    /// Decodes the five predefined entities and numeric references.
    static func decodeEntities(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var out = ""
        var rest = text
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[amp...]
            guard let semicolon = after.firstIndex(of: ";"), after.distance(from: amp, to: semicolon) <= 10 else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
                continue
            }
            let entity = after[after.index(after: amp)..<semicolon]
            var decoded: String?
            switch entity {
            case "amp": decoded = "&"
            case "lt": decoded = "<"
            case "gt": decoded = ">"
            case "quot": decoded = "\""
            case "apos": decoded = "'"
            default:
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    decoded = UInt32(entity.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                } else if entity.hasPrefix("#") {
                    decoded = UInt32(entity.dropFirst()).flatMap(Unicode.Scalar.init).map { String(Character($0)) }
                }
            }
            if let decoded {
                out += decoded
                rest = after[after.index(after: semicolon)...]
            } else {
                out += "&"
                rest = rest[rest.index(after: amp)...]
            }
        }
        out += rest
        return out
    }
}

extension S3XML {
    /// The raw contents of every `<name>…</name>` (or `<name …>…</name>`, or `<name/>`) in `xml`, in
    /// document order. Elements of one name are not nested in S3's documents, so the first close
    /// tag ends each one.
    static func elements(named name: String, in xml: Substring) -> [Substring] {
        var found: [Substring] = []
        var rest = xml
        let open = "<\(name)"
        let close = "</\(name)>"
        while let start = rest.range(of: open) {
            let after = rest[start.upperBound...]
            guard let next = after.first else { break }
            guard next == ">" || next == " " || next == "/" || next.isNewline || next == "\t" else {
                rest = after
                continue
            }
            guard let tagEnd = after.firstIndex(of: ">") else { break }
            if after[..<tagEnd].hasSuffix("/") {
                found.append(after[tagEnd..<tagEnd])
                rest = after[after.index(after: tagEnd)...]
                continue
            }
            let body = after[after.index(after: tagEnd)...]
            guard let end = body.range(of: close) else { break }
            found.append(body[..<end.lowerBound])
            rest = body[end.upperBound...]
        }
        return found
    }

    /// The raw contents of every `<name>` in `xml`.
    static func elements(named name: String, in xml: String) -> [Substring] {
        elements(named: name, in: Substring(xml))
    }

    /// The decoded, trimmed text of every `<name>` in `xml`.
    static func texts(of name: String, in xml: Substring) -> [String] {
        elements(named: name, in: xml).map { decodeEntities($0).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The decoded, trimmed text of the first `<name>` in `xml`, or `nil`.
    static func text(of name: String, in xml: Substring) -> String? {
        elements(named: name, in: xml).first.map { decodeEntities($0).trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// `text` with `&`, `<`, `>`, `"` and `'` escaped, for element content and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }

    /// `<name>escaped text</name>`.
    static func element(_ name: String, _ text: String) -> String {
        "<\(name)>\(escape(text))</\(name)>"
    }

    /// The XML declaration and the S3 namespace on `root`.
    static func document(_ root: String, _ content: String) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><\(root) xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(content)</\(root)>"
    }
}
