/// The text of an entity tag as HTTP headers and S3 documents carry it.
package enum ETagText {
    /// The tag without surrounding whitespace, a weak `W/` prefix, or its quotes:
    /// ` "abc" ` → `abc`, `W/"abc"` → `abc`, `abc` → `abc`.
    package static func unquote(_ tag: some StringProtocol) -> String {
        var t = Substring(tag)
        while let first = t.first, first == " " || first == "\t" { t = t.dropFirst() }
        while let last = t.last, last == " " || last == "\t" { t = t.dropLast() }
        if t.hasPrefix("W/") { t = t.dropFirst(2) }
        if t.count >= 2, t.first == "\"", t.last == "\"" { t = t.dropFirst().dropLast() }
        return String(t)
    }
}
