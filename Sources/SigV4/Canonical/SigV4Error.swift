/// A SigV4 signing or verification failure, with S3's error code.
///
/// The code is stable and machine-readable: the embedded store writes it into
/// the `<Code>` of its XML error, the API maps it to JSON.
///
/// ```swift
/// do { try verifier.verify(request, now: .now) }
/// catch let error as SigV4Error where error.code == .requestTimeTooSkewed { … }
/// ```
public struct SigV4Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// S3's error code, e.g. `SignatureDoesNotMatch`.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case signatureDoesNotMatch = "SignatureDoesNotMatch"
            case accessDenied = "AccessDenied"
            case authorizationQueryParametersError = "AuthorizationQueryParametersError"
            case authorizationHeaderMalformed = "AuthorizationHeaderMalformed"
            case requestTimeTooSkewed = "RequestTimeTooSkewed"
            case invalidAccessKeyId = "InvalidAccessKeyId"
            case missingSecurityHeader = "MissingSecurityHeader"
            case invalidToken = "InvalidToken"
            case invalidArgument = "InvalidArgument"
            case invalidPolicyDocument = "InvalidPolicyDocument"
            case incompleteBody = "IncompleteBody"
            case invalidRequest = "InvalidRequest"
            case invalidURI = "InvalidURI"
        }

        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The signature computed from the request differs from the one sent.
        public static let signatureDoesNotMatch = Code(.signatureDoesNotMatch)
        /// Denied: an expired URL, a policy violation, a request not yet valid.
        public static let accessDenied = Code(.accessDenied)
        /// The `X-Amz-*` query parameters of a pre-signed URL are malformed.
        public static let authorizationQueryParametersError = Code(.authorizationQueryParametersError)
        /// The `Authorization` header is malformed or scoped wrongly.
        public static let authorizationHeaderMalformed = Code(.authorizationHeaderMalformed)
        /// Header auth more than the allowed skew (15 minutes) from the server's clock.
        public static let requestTimeTooSkewed = Code(.requestTimeTooSkewed)
        /// The access key id is not known.
        public static let invalidAccessKeyId = Code(.invalidAccessKeyId)
        /// A header that authentication needs is missing.
        public static let missingSecurityHeader = Code(.missingSecurityHeader)
        /// The session token is malformed or does not belong to the access key.
        public static let invalidToken = Code(.invalidToken)
        /// An argument (a form field, a policy value) is invalid.
        public static let invalidArgument = Code(.invalidArgument)
        /// The POST policy document cannot be parsed.
        public static let invalidPolicyDocument = Code(.invalidPolicyDocument)
        /// An `aws-chunked` body ended early or is malformed.
        public static let incompleteBody = Code(.incompleteBody)
        /// The request is invalid in a way no other code describes.
        public static let invalidRequest = Code(.invalidRequest)
        /// The request path or query has a malformed percent escape.
        public static let invalidURI = Code(.invalidURI)

        /// The code as S3 spells it.
        public var rawValue: String { value.rawValue }
        public var description: String { value.rawValue }
    }

    /// S3's error code.
    public let code: Code
    /// A human-readable explanation, safe to show to the client.
    public let message: String

    /// Creates an error.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The HTTP status S3 answers with for this code.
    public var httpStatus: Int {
        switch code {
        case .authorizationQueryParametersError, .authorizationHeaderMalformed, .missingSecurityHeader,
             .invalidToken, .invalidArgument, .invalidPolicyDocument, .incompleteBody, .invalidRequest, .invalidURI:
            return 400
        default:
            return 403
        }
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension SigV4Error {
    static func signatureMismatch() -> SigV4Error {
        SigV4Error(.signatureDoesNotMatch,
                   "The request signature we calculated does not match the signature you provided. Check your key and signing method.")
    }
    static func expired() -> SigV4Error {
        SigV4Error(.accessDenied, "Request has expired")
    }
}
