import Foundation

/// Unpadded base64url (RFC 4648 §5), as JWS compact serialisation uses it (RFC 7515 §2).
enum Base64URL {
    private static let invalid: UInt8 = 0xFF

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for (value, character) in alphabet.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        return table
    }()

    /// Decodes strictly: no padding, no characters outside the alphabet, no length of 4n+1,
    /// and zero unused bits in the last character (so each value has exactly one encoding).
    ///
    /// - Returns: The bytes, or `nil` if `encoded` is not canonical unpadded base64url.
    static func decode(_ encoded: ArraySlice<UInt8>) -> [UInt8]? {
        let result = encoded.withContiguousStorageIfAvailable { decode($0) }
        return result ?? decode(Array(encoded))
    }

    private static func decode(_ encoded: [UInt8]) -> [UInt8]? {
        encoded.withUnsafeBufferPointer { decode($0) }
    }

    private static func decode(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let count = input.count
        if count % 4 == 1 { return nil }
        var output = [UInt8]()
        output.reserveCapacity(count / 4 * 3 + 2)
        let table = decodeTable
        var index = 0
        while index + 4 <= count {
            let a = table[Int(input[index])]
            let b = table[Int(input[index + 1])]
            let c = table[Int(input[index + 2])]
            let d = table[Int(input[index + 3])]
            // Alphabet values are below 64; `invalid` has the high bit set.
            if (a | b | c | d) & 0x80 != 0 { return nil }
            let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
            output.append(UInt8(truncatingIfNeeded: value >> 16))
            output.append(UInt8(truncatingIfNeeded: value >> 8))
            output.append(UInt8(truncatingIfNeeded: value))
            index += 4
        }
        switch count - index {
        case 2:
            let a = table[Int(input[index])]
            let b = table[Int(input[index + 1])]
            guard a != invalid, b != invalid, b & 0x0F == 0 else { return nil }
            output.append(a << 2 | b >> 4)
        case 3:
            let a = table[Int(input[index])]
            let b = table[Int(input[index + 1])]
            let c = table[Int(input[index + 2])]
            guard a != invalid, b != invalid, c != invalid, c & 0x03 == 0 else { return nil }
            output.append(a << 2 | b >> 4)
            output.append((b & 0x0F) << 4 | c >> 2)
        default:
            break
        }
        return output
    }

    /// Encodes without padding.
    static func encode(_ bytes: some DataProtocol) -> String {
        var text = Data(bytes).base64EncodedString()
        while text.last == "=" { text.removeLast() }
        return String(text.map { character -> Character in
            switch character {
            case "+": return "-"
            case "/": return "_"
            default: return character
            }
        })
    }
}
