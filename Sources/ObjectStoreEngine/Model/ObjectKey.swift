/// S3's rule for object keys: 1 to 1024 bytes of UTF-8, anything else allowed.
///
/// Keys never become file paths (see ``StoreLayout``), so `/`, `..`, a
/// trailing `/`, `%`, spaces and emoji need no special care.
enum ObjectKey {
    /// The longest key S3 accepts, in bytes of UTF-8.
    static let maximumLength = 1024

    /// Checks `key`'s length.
    ///
    /// - Throws: `InvalidArgument` for an empty key, `KeyTooLongError` past 1024 bytes.
    static func validate(_ key: String) throws(StoreError) {
        let length = key.utf8.count
        guard length > 0 else {
            throw StoreError(.invalidArgument, "An object key must not be empty.")
        }
        guard length <= maximumLength else {
            throw StoreError(.keyTooLong, "Your key is too long: \(length) bytes of UTF-8, at most \(maximumLength) allowed.")
        }
    }

    /// `bytes` + 1 in the order of byte strings that start with `bytes`: the smallest
    /// byte string greater than every string with this prefix; `nil` if there is none
    /// (empty, or all `0xFF`).
    static func successor(ofPrefix bytes: [UInt8]) -> [UInt8]? {
        var result = bytes
        while let last = result.last {
            if last < 0xFF {
                result[result.count - 1] = last + 1
                return result
            }
            result.removeLast()
        }
        return nil
    }
}
