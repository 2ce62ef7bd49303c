import Crypto
import HoistSupport

/// Writes bytes into memory the caller sized beforehand, without the
/// per-append uniqueness and capacity checks of `Array.append`.
///
/// The hot paths (pre-signing) compute an upper bound of their output, then
/// write canonical requests and URLs through this. Writing past the capacity
/// is a programming error and traps.
struct ByteWriter {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    private(set) var count = 0

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        // A zero-capacity buffer may have no base address; nothing can be written to it.
        base = buffer.baseAddress ?? UnsafeMutablePointer<UInt8>.allocate(capacity: 0)
        capacity = buffer.count
    }

    @inline(__always)
    mutating func put(_ byte: UInt8) {
        precondition(count < capacity, "ByteWriter overflow")
        base[count] = byte
        count += 1
    }

    @inline(__always)
    mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(count + bytes.count <= capacity, "ByteWriter overflow")
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    mutating func put(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { put($0) }
    }

    mutating func put(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBufferPointer { put($0) }
    }

    mutating func put(_ text: String) {
        var text = text
        text.withUTF8 { put($0) }
    }

    /// Writes `bytes` percent-encoded with S3's rules (see ``S3URIEncoding``).
    mutating func putEncoded(_ bytes: UnsafeBufferPointer<UInt8>, keepSlash: Bool) {
        var runStart = 0
        for i in 0..<bytes.count {
            let c = bytes[i]
            if S3URIEncoding.isUnreserved(c) || (keepSlash && c == UInt8(ascii: "/")) { continue }
            if runStart < i { put(UnsafeBufferPointer(rebasing: bytes[runStart..<i])) }
            put(UInt8(ascii: "%"))
            put(S3URIEncoding.upperHexDigit(c >> 4))
            put(S3URIEncoding.upperHexDigit(c & 0x0F))
            runStart = i + 1
        }
        if runStart < bytes.count { put(UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count])) }
    }

    mutating func putEncoded(_ text: String, keepSlash: Bool) {
        var text = text
        text.withUTF8 { putEncoded($0, keepSlash: keepSlash) }
    }

    /// Writes a header value trimmed and with inner runs of whitespace collapsed (SigV4 “trimall”).
    mutating func putTrimmed(_ value: String) {
        var value = value
        value.withUTF8 { p in
            var pendingSpace = false
            var started = false
            for c in p {
                if Canonical.isSpace(c) {
                    if started { pendingSpace = true }
                    continue
                }
                if pendingSpace {
                    put(UInt8(ascii: " "))
                    pendingSpace = false
                }
                started = true
                put(c)
            }
        }
    }

    /// Writes the lowercase hex of raw bytes.
    mutating func putHex(_ bytes: UnsafeRawBufferPointer) {
        precondition(count + bytes.count * 2 <= capacity, "ByteWriter overflow")
        for byte in bytes {
            base[count] = Hex.digit(byte >> 4)
            base[count + 1] = Hex.digit(byte & 0x0F)
            count += 2
        }
    }

    /// Writes a non-negative integer in decimal.
    mutating func putDecimal(_ value: Int) {
        var v = max(0, value)
        var divisor = 1
        while divisor <= v / 10 { divisor *= 10 }
        repeat {
            put(UInt8(ascii: "0") + UInt8(v / divisor))
            v %= divisor
            divisor /= 10
        } while divisor > 0
    }

    /// Writes `yyyyMMdd'T'HHmmss'Z'`, or only `yyyyMMdd` when `dateOnly`.
    mutating func putAMZ(_ f: AMZDate.Fields, dateOnly: Bool = false) {
        putDigits(f.year, 4); putDigits(f.month, 2); putDigits(f.day, 2)
        if dateOnly { return }
        put(UInt8(ascii: "T"))
        putDigits(f.hour, 2); putDigits(f.minute, 2); putDigits(f.second, 2)
        put(UInt8(ascii: "Z"))
    }

    private mutating func putDigits(_ value: Int64, _ width: Int) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            put(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (v / divisor) % 10))
            v %= divisor
            divisor /= 10
        }
    }
}
