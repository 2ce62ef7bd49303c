import Foundation

/// A signing time in whole UTC seconds, with SigV4's text forms.
///
/// Formats and parses `yyyyMMdd'T'HHmmss'Z'` by arithmetic (days from the
/// civil calendar, H. Hinnant's algorithm) instead of `DateFormatter`, which
/// is slow and locale-sensitive.
public struct AMZDate: Sendable, Hashable, Comparable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let secondsSince1970: Int64

    /// The time `date`, truncated to whole seconds.
    public init(_ date: Date) {
        self.secondsSince1970 = Int64(date.timeIntervalSince1970.rounded(.down))
    }

    /// The time `secondsSince1970`.
    public init(secondsSince1970: Int64) {
        self.secondsSince1970 = secondsSince1970
    }

    /// This time as a `Date`.
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(secondsSince1970)) }

    public static func < (lhs: AMZDate, rhs: AMZDate) -> Bool { lhs.secondsSince1970 < rhs.secondsSince1970 }

    /// Civil date and time fields.
    package struct Fields: Equatable {
        package var year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64
    }

    package var fields: Fields {
        let days = secondsSince1970 >= 0 ? secondsSince1970 / 86400 : (secondsSince1970 - 86399) / 86400
        let secondsOfDay = secondsSince1970 - days * 86400
        // civil_from_days
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return Fields(year: year, month: month, day: day,
                      hour: secondsOfDay / 3600, minute: secondsOfDay % 3600 / 60, second: secondsOfDay % 60)
    }

    init?(fields f: Fields) {
        guard (1...12).contains(f.month), (1...31).contains(f.day), (0...23).contains(f.hour),
              (0...59).contains(f.minute), (0...60).contains(f.second), (0...9999).contains(f.year) else { return nil }
        // days_from_civil
        let y = f.month <= 2 ? f.year - 1 : f.year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = f.month > 2 ? f.month - 3 : f.month + 9
        let doy = (153 * mp + 2) / 5 + f.day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        let candidate = AMZDate(secondsSince1970: days * 86400 + f.hour * 3600 + f.minute * 60 + min(f.second, 59))
        // Reject dates such as February 30th, which the arithmetic would roll over.
        guard candidate.fields.day == f.day else { return nil }
        self = candidate
    }

    /// Appends `yyyyMMdd'T'HHmmss'Z'` (16 bytes) to `buffer`.
    func appendAMZ(to buffer: inout [UInt8]) {
        let f = fields
        appendDigits(f.year, 4, &buffer)
        appendDigits(f.month, 2, &buffer)
        appendDigits(f.day, 2, &buffer)
        buffer.append(UInt8(ascii: "T"))
        appendDigits(f.hour, 2, &buffer)
        appendDigits(f.minute, 2, &buffer)
        appendDigits(f.second, 2, &buffer)
        buffer.append(UInt8(ascii: "Z"))
    }

    /// `yyyyMMdd'T'HHmmss'Z'`, the `X-Amz-Date` form.
    public var amzString: String {
        var b: [UInt8] = []
        b.reserveCapacity(16)
        appendAMZ(to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// `yyyyMMdd`, the credential scope's date.
    public var dateStamp: String { String(amzString.prefix(8)) }

    /// `yyyy-MM-dd'T'HH:mm:ss'Z'` (ISO 8601).
    public var iso8601String: String {
        let f = fields
        var b: [UInt8] = []
        appendDigits(f.year, 4, &b); b.append(UInt8(ascii: "-"))
        appendDigits(f.month, 2, &b); b.append(UInt8(ascii: "-"))
        appendDigits(f.day, 2, &b); b.append(UInt8(ascii: "T"))
        appendDigits(f.hour, 2, &b); b.append(UInt8(ascii: ":"))
        appendDigits(f.minute, 2, &b); b.append(UInt8(ascii: ":"))
        appendDigits(f.second, 2, &b); b.append(UInt8(ascii: "Z"))
        return String(decoding: b, as: UTF8.self)
    }

    /// Parses `yyyyMMdd'T'HHmmss'Z'` exactly; `nil` for anything else.
    public init?(amz text: some StringProtocol) {
        let u = Array(text.utf8)
        guard u.count == 16, u[8] == UInt8(ascii: "T"), u[15] == UInt8(ascii: "Z"),
              let year = Self.number(u, 0, 4), let month = Self.number(u, 4, 2), let day = Self.number(u, 6, 2),
              let hour = Self.number(u, 9, 2), let minute = Self.number(u, 11, 2), let second = Self.number(u, 13, 2)
        else { return nil }
        self.init(fields: Fields(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }

    /// Parses ISO 8601 `yyyy-MM-dd'T'HH:mm:ss[.fff]Z` (as POST policy expirations are written).
    public init?(iso8601 text: some StringProtocol) {
        let u = Array(text.utf8)
        guard u.count >= 20, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"), u[10] == UInt8(ascii: "T"),
              u[13] == UInt8(ascii: ":"), u[16] == UInt8(ascii: ":"), u.last == UInt8(ascii: "Z"),
              let year = Self.number(u, 0, 4), let month = Self.number(u, 5, 2), let day = Self.number(u, 8, 2),
              let hour = Self.number(u, 11, 2), let minute = Self.number(u, 14, 2), let second = Self.number(u, 17, 2)
        else { return nil }
        if u.count > 20 {
            // Only a fractional part may follow the seconds.
            guard u[19] == UInt8(ascii: "."), u.count > 21,
                  u[20..<(u.count - 1)].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        }
        self.init(fields: Fields(year: year, month: month, day: day, hour: hour, minute: minute, second: second))
    }

    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parses an HTTP date: `EEE, dd MMM yyyy HH:mm:ss GMT` (RFC 7231 IMF-fixdate), or the RFC 2822
    /// form clients also send in `Date` (botocore: `… -0000`): the weekday optional, the zone `GMT`,
    /// `UT`, `UTC`, `Z` or a numeric offset `±hhmm`.
    public init?(httpDate text: some StringProtocol) {
        var parts = text.split(separator: " ")
        if let first = parts.first, first.hasSuffix(",") { parts.removeFirst() }
        guard parts.count == 5, parts[0].utf8.count <= 2, parts[2].utf8.count == 4,
              let day = Int64(parts[0]), (1...31).contains(day),
              let monthIndex = Self.monthNames.firstIndex(where: { $0 == parts[1] }),
              let year = Int64(parts[2]) else { return nil }
        let time = parts[3].split(separator: ":", omittingEmptySubsequences: false)
        guard time.count == 3, time.allSatisfy({ $0.utf8.count == 2 }),
              let hour = Int64(time[0]), let minute = Int64(time[1]), let second = Int64(time[2]),
              hour < 24, minute < 60, second < 61 else { return nil }
        let zone = parts[4]
        var offset: Int64 = 0
        switch zone {
        case "GMT", "UT", "UTC", "Z": break
        default:
            let bytes = Array(zone.utf8)
            guard bytes.count == 5, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"),
                  bytes.dropFirst().allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let hours = Int64(zone.dropFirst().prefix(2)), let minutes = Int64(zone.suffix(2)), minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[0] == UInt8(ascii: "-") ? -1 : 1)
        }
        guard let local = AMZDate(fields: Fields(year: year, month: Int64(monthIndex + 1), day: day, hour: hour, minute: minute, second: second))
        else { return nil }
        self.init(secondsSince1970: local.secondsSince1970 - offset)
    }

    /// This time as an HTTP date (`Last-Modified`, `Date`).
    public var httpDateString: String {
        let f = fields
        let days = secondsSince1970 >= 0 ? secondsSince1970 / 86400 : (secondsSince1970 - 86399) / 86400
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][Int(((days % 7) + 7) % 7)]
        var b: [UInt8] = Array("\(weekday), ".utf8)
        appendDigits(f.day, 2, &b)
        b.append(contentsOf: Array(" \(Self.monthNames[Int(f.month - 1)]) ".utf8))
        appendDigits(f.year, 4, &b); b.append(UInt8(ascii: " "))
        appendDigits(f.hour, 2, &b); b.append(UInt8(ascii: ":"))
        appendDigits(f.minute, 2, &b); b.append(UInt8(ascii: ":"))
        appendDigits(f.second, 2, &b)
        b.append(contentsOf: Array(" GMT".utf8))
        return String(decoding: b, as: UTF8.self)
    }

    private static func number(_ u: [UInt8], _ start: Int, _ count: Int) -> Int64? {
        var v: Int64 = 0
        for i in start..<(start + count) {
            let c = u[i]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            v = v * 10 + Int64(c - UInt8(ascii: "0"))
        }
        return v
    }
}

@inline(__always)
private func appendDigits(_ value: Int64, _ width: Int, _ buffer: inout [UInt8]) {
    var divisor: Int64 = 1
    for _ in 1..<width { divisor *= 10 }
    var v = value
    while divisor > 0 {
        buffer.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: (v / divisor) % 10))
        v %= divisor
        divisor /= 10
    }
}
