/// Writes the small XML documents S3 answers with.
///
/// ```swift
/// var x = XMLWriter()
/// x.element("LocationConstraint", namespace: true) { _ in }
/// x.document  // <?xml …?><LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>
/// ```
struct XMLWriter {
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"
    /// The XML declaration that starts every document.
    static let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    private(set) var body = ""

    /// The document with its XML declaration.
    var document: String { Self.declaration + body }

    /// Writes `<name>…</name>` with children written by `content`.
    mutating func element(_ name: String, namespace: Bool = false, _ content: (inout XMLWriter) -> Void) {
        open(name, namespace: namespace)
        content(&self)
        close(name)
    }

    /// Writes `<name>` (with the S3 namespace if `namespace`); ``close(_:)`` ends it.
    /// For documents written in steps (a listing page yields between its entries).
    mutating func open(_ name: String, namespace: Bool = false) {
        body.append("<")
        body.append(name)
        if namespace {
            body.append(" xmlns=\"")
            body.append(Self.namespace)
            body.append("\"")
        }
        body.append(">")
    }

    /// Writes `</name>`.
    mutating func close(_ name: String) {
        body.append("</")
        body.append(name)
        body.append(">")
    }

    /// Writes `<name>text</name>`, escaped.
    mutating func leaf(_ name: String, _ text: String) {
        open(name)
        Self.appendEscaped(text, to: &body)
        close(name)
    }

    /// Writes `<name><ID>id</ID><DisplayName>hoist</DisplayName></name>`: the store's one
    /// account as an `Owner` or `Initiator`.
    mutating func account(_ name: String, id: String) {
        element(name) { x in
            x.leaf("ID", id)
            x.leaf("DisplayName", "hoist")
        }
    }

    /// Appends already-escaped text.
    mutating func appendRaw(_ text: String) { body += text }

    /// Escapes text for element content.
    static func escape(_ text: String) -> String {
        var out = ""
        appendEscaped(text, to: &out)
        return out
    }

    /// Appends `text` escaped for element content: as it is when no byte needs escaping (the
    /// common case: keys, dates, ETags), else character by character.
    static func appendEscaped(_ text: String, to out: inout String) {
        let plain = text.utf8.allSatisfy { byte in
            byte >= 0x20 && byte != UInt8(ascii: "&") && byte != UInt8(ascii: "<") && byte != UInt8(ascii: ">")
                && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "'")
        }
        if plain {
            out.append(text)
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            default:
                if scalar.value < 0x20 && scalar != "\n" && scalar != "\t" {
                    out += "&#\(scalar.value);"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
    }
}
