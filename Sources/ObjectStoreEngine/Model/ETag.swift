/// Comparison of ETags as `If-Match` gives them.
enum ETag {
    /// Whether `expected` (from `If-Match`) matches the stored lowercase hex `etag`.
    ///
    /// Strong comparison (RFC 9110, 13.1.1): surrounding quotes and case are
    /// tolerated, a weak tag (`W/"…"`) never matches, `*` matches any object.
    static func matches(_ expected: String, _ etag: String) -> Bool {
        var value = Substring(expected)
        if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = value.dropFirst().dropLast() }
        return value == "*" || value.lowercased() == etag
    }
}
