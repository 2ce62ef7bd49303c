/// JSON string literals written by hand (RFC 8259 §7), for the few documents the package
/// writes on hot paths or without Foundation: the upload URL response, POST policies.
package enum JSONText {
    /// The JSON string literal for `text`: quotes, backslashes and control characters escaped.
    ///
    /// ```swift
    /// JSONText.quoted("say \"hi\"")   // "\"say \\\"hi\\\"\""
    /// ```
    package static func quoted(_ text: String) -> String {
        var out = ""
        appendQuoted(text, to: &out)
        return out
    }

    /// Appends the JSON string literal for `text` to `out`.
    package static func appendQuoted(_ text: String, to out: inout String) {
        out += "\""
        // Keys, URLs and ids need no escaping: copy them whole.
        let plain: (UInt8) -> Bool = { $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        if text.utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(plain) }) ?? text.utf8.allSatisfy(plain) {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let v = UInt8(scalar.value)
                    out += "\\u00"
                    out.unicodeScalars.append(Unicode.Scalar(Hex.digit(v >> 4)))
                    out.unicodeScalars.append(Unicode.Scalar(Hex.digit(v & 0x0F)))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
