import HoistSupport
/// S3's URI encoding rules for canonical requests and URLs.
///
/// Every byte of the UTF-8 form is kept when it is unreserved
/// (`A-Z a-z 0-9 - _ . ~`) and written as `%XX` (uppercase hex) otherwise;
/// in a path, `/` is kept. S3 encodes a path once and never normalises it, so
/// keys with `..`, `//`, `+`, `%` or spaces are signed exactly as they are.
public enum S3URIEncoding {
    /// `true` for the bytes SigV4 leaves unencoded: `A-Z a-z 0-9 - _ . ~`.
    @inline(__always)
    static func isUnreserved(_ c: UInt8) -> Bool {
        switch c {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x5F, 0x2E, 0x7E: return true
        default: return false
        }
    }

    @inline(__always)
    static func upperHexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 &+ v : 0x37 &+ v }

    /// Appends `bytes` percent-encoded to `buffer`; `/` is kept when `keepSlash`.
    ///
    /// Runs of bytes that need no encoding are copied in bulk.
    static func append<S: Sequence>(_ bytes: S, keepSlash: Bool, to buffer: inout [UInt8]) where S.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { appendContiguous($0, keepSlash: keepSlash, to: &buffer) }
        if done == nil {
            Array(bytes).withUnsafeBufferPointer { appendContiguous($0, keepSlash: keepSlash, to: &buffer) }
        }
    }

    static func appendContiguous(_ p: UnsafeBufferPointer<UInt8>, keepSlash: Bool, to buffer: inout [UInt8]) {
        var runStart = 0
        for i in 0..<p.count {
            let c = p[i]
            if isUnreserved(c) || (keepSlash && c == UInt8(ascii: "/")) { continue }
            if runStart < i { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: p[runStart..<i])) }
            buffer.append(UInt8(ascii: "%"))
            buffer.append(upperHexDigit(c >> 4))
            buffer.append(upperHexDigit(c & 0x0F))
            runStart = i + 1
        }
        if runStart < p.count { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: p[runStart..<p.count])) }
    }

    /// Encodes a decoded path (such as `/bucket/my photo+1.jpg`), keeping `/`.
    ///
    /// ```swift
    /// S3URIEncoding.encodePath("/b/my photo+1.jpg") // "/b/my%20photo%2B1.jpg"
    /// ```
    public static func encodePath(_ path: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(path.utf8.count + 16)
        append(path.utf8, keepSlash: true, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes a query name or value (everything but the unreserved set, `/` included).
    public static func encodeQueryComponent(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 8)
        append(text.utf8, keepSlash: false, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes into bytes; `+` stays `+`. `nil` on a malformed escape.
    public static func percentDecode<S: Collection>(_ raw: S) -> [UInt8]? where S.Element == UInt8 {
        if !raw.contains(UInt8(ascii: "%")) { return Array(raw) }
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = raw.startIndex
        while i != raw.endIndex {
            let c = raw[i]
            if c == UInt8(ascii: "%") {
                let h = raw.index(after: i)
                guard h != raw.endIndex else { return nil }
                let l = raw.index(after: h)
                guard l != raw.endIndex, let hv = Hex.value(of: raw[h]), let lv = Hex.value(of: raw[l]) else { return nil }
                out.append(hv << 4 | lv)
                i = raw.index(after: l)
            } else {
                out.append(c)
                i = raw.index(after: i)
            }
        }
        return out
    }

    /// Decodes a percent-encoded string into text, or `nil` when an escape is
    /// malformed or the bytes are not UTF-8.
    public static func decode(_ raw: some StringProtocol) -> String? {
        guard let bytes = percentDecode(raw.utf8) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Re-encodes a path as received on the wire into its canonical form:
    /// decode the escapes, encode once with S3's rules. A client that sent `$`
    /// raw and one that sent `%24` sign the same canonical URI.
    static func canonicalPath(fromWire raw: Substring.UTF8View, normalize: Bool) -> [UInt8]? {
        guard let decoded = percentDecode(raw) else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(decoded.count + 16)
        if decoded.isEmpty {
            out.append(UInt8(ascii: "/"))
            return out
        }
        append(normalize ? removeDotSegments(decoded) : decoded, keepSlash: true, to: &out)
        return out
    }

    /// RFC 3986 §5.2.4 dot-segment removal plus collapsing of empty segments:
    /// what generic (non-S3) SigV4 services do before signing. S3 never does this.
    static func removeDotSegments(_ path: [UInt8]) -> [UInt8] {
        let segments = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var kept: [ArraySlice<UInt8>] = []
        for segment in segments {
            if segment.isEmpty || segment.elementsEqual([UInt8(ascii: ".")]) { continue }
            if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                _ = kept.popLast()
                continue
            }
            kept.append(segment)
        }
        var out: [UInt8] = [UInt8(ascii: "/")]
        for (i, segment) in kept.enumerated() {
            if i > 0 { out.append(UInt8(ascii: "/")) }
            out.append(contentsOf: segment)
        }
        let last = segments.last ?? []
        let endsAsDirectory = last.isEmpty || last.elementsEqual([UInt8(ascii: ".")]) || last.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")])
        if endsAsDirectory && !kept.isEmpty {
            out.append(UInt8(ascii: "/"))
        }
        return out
    }
}
