/// S3's rules for general purpose bucket names.
///
/// From "Bucket naming rules" in the Amazon S3 user guide: 3 to 63 characters;
/// lowercase letters, digits, `.` and `-`; starts and ends with a letter or a
/// digit; no two adjacent periods; not formatted as an IP address; none of the
/// reserved prefixes (`xn--`, `sthree-`, `amzn-s3-demo-`) or suffixes
/// (`-s3alias`, `--ol-s3`, `.mrap`, `--x-s3`, `--table-s3`).
enum BucketName {
    private static let reservedPrefixes = ["xn--", "sthree-", "amzn-s3-demo-"]
    private static let reservedSuffixes = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]

    /// Checks `name` against S3's rules.
    ///
    /// - Throws: `InvalidBucketName`, saying which rule it breaks.
    static func validate(_ name: String) throws(StoreError) {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else {
            throw invalid("must be between 3 and 63 characters long")
        }
        for byte in bytes where !(isLowercaseLetterOrDigit(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")) {
            throw invalid("can contain only lowercase letters, digits, '.' and '-'")
        }
        guard let first = bytes.first, let last = bytes.last,
              isLowercaseLetterOrDigit(first), isLowercaseLetterOrDigit(last)
        else {
            throw invalid("must start and end with a letter or a digit")
        }
        guard !name.contains("..") else {
            throw invalid("must not contain two adjacent periods")
        }
        guard !isIPv4Address(bytes) else {
            throw invalid("must not be formatted as an IP address")
        }
        for prefix in reservedPrefixes where name.hasPrefix(prefix) {
            throw invalid("must not start with '\(prefix)'")
        }
        for suffix in reservedSuffixes where name.hasSuffix(suffix) {
            throw invalid("must not end with '\(suffix)'")
        }
    }

    private static func invalid(_ rule: String) -> StoreError {
        StoreError(.invalidBucketName, "The specified bucket is not valid: a bucket name \(rule).")
    }

    private static func isLowercaseLetterOrDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || isDigit(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Four dot-separated groups of 1 to 3 digits, like `192.168.5.4`.
    private static func isIPv4Address(_ bytes: [UInt8]) -> Bool {
        let groups = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return groups.count == 4 && groups.allSatisfy { (1...3).contains($0.count) && $0.allSatisfy(isDigit) }
    }
}
