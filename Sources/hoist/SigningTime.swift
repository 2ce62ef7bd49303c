import Foundation
import SigV4

/// Parses a signing time given on the command line: `20130524T000000Z` or `2013-05-24T00:00:00Z`.
func parseSigningTime(_ text: String) -> Date? {
    (AMZDate(amz: text) ?? AMZDate(iso8601: text))?.date
}

/// Writes `text` and a newline to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// A JSON value rendered compactly with sorted keys.
func jsonLine(_ object: [String: Any]) -> String {
    guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
        return "{}"
    }
    return String(decoding: data, as: UTF8.self)
}
