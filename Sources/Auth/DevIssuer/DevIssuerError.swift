/// Why the development issuer could not start or make a token.
public struct DevIssuerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A machine-readable reason.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case keyFileUnreadable = "key_file_unreadable"
            case keyFileUnwritable = "key_file_unwritable"
            case invalidKeyFile = "invalid_key_file"
            case invalidArgument = "invalid_argument"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The key file exists but cannot be read (or its mode cannot be narrowed).
        public static let keyFileUnreadable = Code(.keyFileUnreadable)
        /// The data folder or the key file cannot be created or written.
        public static let keyFileUnwritable = Code(.keyFileUnwritable)
        /// The key file holds no usable RSA private key.
        public static let invalidKeyFile = Code(.invalidKeyFile)
        /// A token was asked for with an empty user or a non-positive lifetime.
        public static let invalidArgument = Code(.invalidArgument)

        /// The code as text, e.g. `invalid_key_file`.
        public var rawValue: String { value.rawValue }
        /// The code as text.
        public var description: String { value.rawValue }
    }

    /// The machine-readable reason.
    public let code: Code
    /// What went wrong, with the path involved.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}
