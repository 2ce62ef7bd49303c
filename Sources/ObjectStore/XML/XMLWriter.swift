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
        body += namespace ? "<\(name) xmlns=\"\(Self.namespace)\">" : "<\(name)>"
        content(&self)
        body += "</\(name)>"
    }

    /// Writes `<name>text</name>`, escaped.
    mutating func leaf(_ name: String, _ text: String) {
        body += "<\(name)>\(Self.escape(text))</\(name)>"
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
        out.reserveCapacity(text.utf8.count)
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
        return out
    }
}
