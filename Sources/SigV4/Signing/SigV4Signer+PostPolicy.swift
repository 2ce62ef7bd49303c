import Foundation
import HoistSupport

extension SigV4Signer {
    /// Signs a browser POST policy and returns the form fields that carry it.
    ///
    /// The conditions on `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`
    /// (and `x-amz-security-token`) are added to the policy here, as S3
    /// requires every form field to be covered by a condition. The string to
    /// sign is the base64 policy itself (S3 “POST policy”, SigV4).
    ///
    /// - Parameters:
    ///   - policy: the expiration and conditions (bucket, key, content type, size range…).
    ///   - date: the signing time.
    /// - Returns: the fields to put in the form besides the caller's own
    ///   (`key`, `Content-Type`, …): `x-amz-algorithm`, `x-amz-credential`,
    ///   `x-amz-date`, `x-amz-security-token` when there is one, `policy`, `x-amz-signature`.
    public func signPOSTPolicy(_ policy: PostPolicy, date: Date) -> [(String, String)] {
        let amz = AMZDate(date)
        let credential = "\(credentials.accessKeyId)/\(amz.dateStamp)\(String(decoding: scopeSuffix, as: UTF8.self))"
        var fields: [(String, String)] = [
            ("x-amz-algorithm", Canonical.algorithm),
            ("x-amz-credential", credential),
            ("x-amz-date", amz.amzString),
        ]
        if let token = credentials.sessionToken { fields.append(("x-amz-security-token", token)) }
        var signed = policy
        for (name, value) in fields {
            signed.conditions.removeAll { $0.field == name }
            signed.conditions.append(.eq(name, value))
        }
        let encoded = Data(signed.jsonDocument.utf8).base64EncodedString()
        let signature = Hex.encode(signingKey(for: amz).signature(of: Array(encoded.utf8)))
        fields.append(("policy", encoded))
        fields.append(("x-amz-signature", signature))
        return fields
    }
}
