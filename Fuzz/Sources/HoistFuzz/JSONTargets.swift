import Events
import FlatJSON
import Foundation
import HoistFuzzKit

/// FlatJSON against Foundation's `JSONSerialization`, and the S3 event reader.
enum JSONTargets {
    /// Differential: FlatJSON and `JSONSerialization` agree on accepting or refusing the bytes,
    /// on "an object or not", and on every top-level field's value.
    static let flatJSON = FuzzTarget("flatjson") { bytes in
        let ours = Result { () throws(FlatJSON.Failure) in try FlatJSON.object(bytes) }
        let reference = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        switch ours {
        case .failure(.invalid):
            // Foundation nests without a limit; FlatJSON refuses past its maximum depth.
            // Foundation on Linux also takes a comma before `]` or `}`, which RFC 8259 does not allow,
            // and text around NUL bytes, which it must not (a raw NUL in a string, `1\0x` read as 1).
            guard reference != nil, !nestsDeeper(than: FlatJSON.maximumDepth, bytes), !hasTrailingComma(bytes),
                  !bytes.contains(0)
            else { return }
            fuzzCheck(false, "FlatJSON refused JSON that Foundation reads")
        case .failure(.notAnObject):
            fuzzCheck((reference != nil || hasNumberPastDouble(bytes)) && !(reference is [String: Any]), "FlatJSON said 'not an object' of \(reference.map { "\(type(of: $0))" } ?? "invalid JSON")")
        case .success(let fields):
            guard let object = reference as? [String: Any] else {
                // RFC 8259 lets numbers be any size; Foundation refuses those a Double cannot hold.
                if reference == nil, hasNumberPastDouble(bytes) { return }
                fuzzCheck(false, "FlatJSON read an object that Foundation \(reference == nil ? "refuses" : "reads as another type")")
                return
            }
            fuzzCheck(fields.count == object.count, "FlatJSON read \(fields.count) fields, Foundation \(object.count)")
            for (name, value) in object {
                guard let read = fields[name] else {
                    fuzzCheck(false, "FlatJSON lacks a field Foundation reads")
                    return
                }
                fuzzCheck(agree(read, value), "FlatJSON read \(read) where Foundation reads \(value)")
            }
        }
    }

    /// Whether a FlatJSON value is the value Foundation read.
    static func agree(_ read: FlatJSON.Value, _ value: Any) -> Bool {
        switch read {
        case .string(let text): return (value as? String) == text
        case .null: return value is NSNull
        case .bool(let flag):
            // Foundation on Linux gives `true` and `false` as NSNumber 1 and 0, not always as Bool.
            if type(of: value) == Bool.self { return (value as? Bool) == flag }
            guard let number = value as? NSNumber else { return false }
            return number.doubleValue == (flag ? 1 : 0)
        case .number(let text):
            guard let double = Double(text) else { return false }
            let theirs: Double
            switch value {
            case let n as Int where type(of: value) != Bool.self: theirs = Double(n)
            case let n as Double: theirs = n
            case let n as Decimal: theirs = NSDecimalNumber(decimal: n).doubleValue
            case let n as NSNumber where type(of: value) != Bool.self: theirs = n.doubleValue
            default: return false
            }
            // Foundation keeps integers exactly and others as Double: compare as Double, allowing either's rounding.
            return theirs == double || (theirs.isFinite && double.isFinite && abs(theirs - double) <= abs(double) * 1e-9)
        case .strings(let texts):
            guard let array = value as? [Any] else { return false }
            return array.count == texts.count && zip(array, texts).allSatisfy { ($0.0 as? String) == $0.1 }
        case .nested:
            if let array = value as? [Any] { return array.contains { !($0 is String) } }
            return value is [String: Any]
        }
    }

    /// Whether `bytes` has a `,` followed (after whitespace) by `]` or `}`, outside strings.
    static func hasTrailingComma(_ bytes: [UInt8]) -> Bool {
        var inString = false, escaped = false, afterComma = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "]"), UInt8(ascii: "}"): if afterComma { return true }
            case UInt8(ascii: "\""): inString = true
            default: break
            }
            afterComma = b == UInt8(ascii: ",")
        }
        return false
    }

    /// Whether `bytes` has a number (outside strings) that overflows a Double, or underflows it to 0.
    static func hasNumberPastDouble(_ bytes: [UInt8]) -> Bool {
        var inString = false, escaped = false, token = ""
        func past(_ text: String) -> Bool {
            guard let value = Double(text) else { return false }
            let mantissa = text.prefix { $0 != "e" && $0 != "E" }
            return value.isInfinite || (value == 0 && mantissa.contains { $0 >= "1" && $0 <= "9" })
        }
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            if (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                token.append(Character(UnicodeScalar(b)))
                continue
            }
            if past(token) { return true }
            token = ""
            if b == UInt8(ascii: "\"") { inString = true }
        }
        return past(token)
    }

    /// Whether `bytes` opens more than `limit` arrays or objects at once (outside strings).
    static func nestsDeeper(than limit: Int, _ bytes: [UInt8]) -> Bool {
        var depth = 0, inString = false, escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                if depth > limit + 1 { return true }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return false
    }

    /// The S3 event reader: a queue message's body, decoded, its key decoded and its
    /// sequencers compared, as the worker does.
    static let s3Event = FuzzTarget("s3-event") { bytes in
        let body = String(decoding: bytes, as: UTF8.self)
        _ = S3EventNotification.isTestEvent(body)
        guard let notification = S3EventNotification.decode(body) else { return }
        for record in notification.records {
            _ = record.s3.object.decodedKey
            _ = S3EventNotification.sequencer(record.s3.object.sequencer, isBefore: notification.records[0].s3.object.sequencer)
        }
        let again = S3EventNotification.decode(notification.encoded())
        fuzzCheck(again == notification, "an event did not survive encoding and decoding")
    }
}
