import Foundation
import HoistSupport

/// A browser POST form that passed verification.
public struct POSTAuthorization: Sendable {
    /// The signature's verification.
    public let authentication: SigV4Authentication
    /// The decoded policy.
    public let policy: PostPolicy
    /// The allowed file size, from `content-length-range`; enforce it as the file streams in.
    public var contentLengthRange: ClosedRange<Int>? { policy.contentLengthRange }
}

extension SigV4Verifier {
    /// Form fields S3 never requires a condition for.
    static func isExemptFromConditions(_ lowercasedName: String) -> Bool {
        lowercasedName == "policy" || lowercasedName == "x-amz-signature" || lowercasedName == "file"
            || lowercasedName.hasPrefix("x-ignore-")
    }

    /// Verifies a browser POST form: the policy's signature, its expiration,
    /// and every condition against the form's fields.
    ///
    /// The file's size is not known yet when the form fields arrive; check it
    /// against ``POSTAuthorization/contentLengthRange`` while the file streams.
    ///
    /// - Parameters:
    ///   - fields: the form fields except the file, in order (names are case-insensitive).
    ///   - bucket: the bucket the form was posted to (checked against a `bucket` condition).
    ///   - now: the server's clock.
    /// - Returns: the authorization, or `nil` when the form carries no policy and no signature (anonymous).
    /// - Throws: ``SigV4Error``: `AccessDenied` for an expired policy, a failed
    ///   condition or a field no condition covers; `SignatureDoesNotMatch`;
    ///   `InvalidAccessKeyId`; `InvalidArgument` / `InvalidPolicyDocument` for malformed forms.
    public func verifyPOST(fields: [(String, String)], bucket: String, now: Date) throws(SigV4Error) -> POSTAuthorization? {
        var byName: [String: String] = [:]
        for (name, value) in fields {
            let lower = name.lowercased()
            guard byName[lower] == nil else {
                throw SigV4Error(.invalidArgument, "The form field \(name) appears more than once.")
            }
            byName[lower] = value
        }
        guard let policyText = byName["policy"] else {
            if byName["x-amz-signature"] != nil || byName["x-amz-credential"] != nil {
                throw SigV4Error(.invalidArgument, "Bucket POST must contain a field named 'policy'.")
            }
            return nil
        }
        guard let signature = byName["x-amz-signature"] else {
            throw SigV4Error(.invalidArgument, "Bucket POST must contain a field named 'x-amz-signature'.")
        }
        guard byName["x-amz-algorithm"] == Canonical.algorithm else {
            throw SigV4Error(.invalidArgument, "The x-amz-algorithm field must be AWS4-HMAC-SHA256.")
        }
        guard let credentialText = byName["x-amz-credential"], let credential = CredentialScope(credentialText) else {
            throw SigV4Error(.invalidArgument, "The x-amz-credential field is missing or mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
        }
        guard let dateText = byName["x-amz-date"], let date = AMZDate(amz: dateText) else {
            throw SigV4Error(.invalidArgument, "The x-amz-date field is missing or not in the form yyyyMMdd'T'HHmmss'Z'.")
        }
        try checkScope(credential, date: date, code: .invalidArgument)
        let credentials = try lookUp(credential.accessKeyId, sessionToken: byName["x-amz-security-token"])

        guard let claimed = Hex.decodeLowercase(signature), claimed.count == 32 else { throw SigV4Error.signatureMismatch() }
        let key = keyCache.key(secretAccessKey: credentials.secretAccessKey, date: credential.date,
                               region: credential.region, service: credential.service)
        guard constantTimeEquals(key.signature(of: Array(policyText.utf8)), claimed) else {
            throw SigV4Error.signatureMismatch()
        }

        guard let document = Data(base64Encoded: policyText) else {
            throw SigV4Error(.invalidPolicyDocument, "Invalid Policy: the policy field is not valid base64.")
        }
        let policy = try PostPolicy(jsonDocument: document)
        guard AMZDate(now) <= AMZDate(policy.expiration) else {
            throw SigV4Error(.accessDenied, "Invalid according to Policy: Policy expired.")
        }

        var covered: Set<String> = []
        for condition in policy.conditions {
            guard let field = condition.field else { continue }
            covered.insert(field)
            let actual = field == "bucket" ? bucket : (byName[field] ?? "")
            let holds: Bool
            switch condition {
            case let .eq(_, expected):
                holds = actual == expected
            case let .startsWith(_, prefix):
                // S3 applies a Content-Type prefix to each comma-separated value.
                holds = field == "content-type"
                    ? actual.split(separator: ",", omittingEmptySubsequences: false).allSatisfy { $0.trimmingSpaces.hasPrefix(prefix) }
                    : actual.hasPrefix(prefix)
            case .contentLengthRange:
                holds = true
            }
            guard holds else {
                throw SigV4Error(.accessDenied, "Invalid according to Policy: Policy Condition failed: \(Self.describe(condition))")
            }
        }
        let uncovered = fields.map { $0.0 }.filter { name in
            let lower = name.lowercased()
            return !Self.isExemptFromConditions(lower) && !covered.contains(lower)
        }
        guard uncovered.isEmpty else {
            throw SigV4Error(.accessDenied, "Invalid according to Policy: Extra input fields: \(uncovered.joined(separator: ", "))")
        }

        let auth = SigV4Authentication(kind: .post, credentials: credentials, date: date, scope: credential.scope,
                                       signature: signature, payloadHash: PayloadHash.unsigned, signedHeaders: [],
                                       expiresAt: AMZDate(policy.expiration), signingKey: key)
        return POSTAuthorization(authentication: auth, policy: policy)
    }

    static func describe(_ condition: PostPolicy.Condition) -> String {
        switch condition {
        case let .eq(f, v): return "[\"eq\", \"$\(f.trimmingDollar)\", \(JSONText.quoted(v))]"
        case let .startsWith(f, v): return "[\"starts-with\", \"$\(f.trimmingDollar)\", \(JSONText.quoted(v))]"
        case let .contentLengthRange(l, h): return "[\"content-length-range\", \(l), \(h)]"
        }
    }
}
