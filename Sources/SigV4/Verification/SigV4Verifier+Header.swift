extension SigV4Verifier {
    /// The fields of an `Authorization: AWS4-HMAC-SHA256 …` header.
    struct AuthorizationHeader {
        var credential: CredentialScope
        var signedHeaders: String
        var signature: String

        /// Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`,
        /// with or without spaces after the commas.
        static func parse(_ value: String) throws(SigV4Error) -> AuthorizationHeader {
            let trimmed = value.drop { $0 == " " }
            guard trimmed.hasPrefix(Canonical.algorithm) else {
                if trimmed.hasPrefix("AWS ") {
                    throw SigV4Error(.invalidArgument, "Signature Version 2 is not supported; sign requests with AWS4-HMAC-SHA256.")
                }
                throw SigV4Error(.authorizationHeaderMalformed, "The authorization header is malformed; the authorization mechanism must be AWS4-HMAC-SHA256.")
            }
            let rest = trimmed.dropFirst(Canonical.algorithm.count)
            guard rest.first == " " else {
                throw SigV4Error(.authorizationHeaderMalformed, "The authorization header is malformed; expected a space after AWS4-HMAC-SHA256.")
            }
            var credential: String?, signedHeaders: String?, signature: String?
            for component in rest.split(separator: ",") {
                let item = component.trimmingSpaces
                guard let eq = item.firstIndex(of: "=") else {
                    throw SigV4Error(.authorizationHeaderMalformed, "The authorization header is malformed; '\(item)' is not of the form Name=Value.")
                }
                let name = item[..<eq], v = String(item[item.index(after: eq)...])
                switch name {
                case "Credential": credential = v
                case "SignedHeaders": signedHeaders = v
                case "Signature": signature = v
                default:
                    throw SigV4Error(.authorizationHeaderMalformed, "The authorization header is malformed; unknown component '\(name)'.")
                }
            }
            guard let credentialText = credential, let signedHeaders, let signature else {
                throw SigV4Error(.authorizationHeaderMalformed, "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.")
            }
            guard let scope = CredentialScope(credentialText) else {
                throw SigV4Error(.authorizationHeaderMalformed, "The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
            }
            return AuthorizationHeader(credential: scope, signedHeaders: signedHeaders, signature: signature)
        }
    }

    /// SigV4 header auth.
    func verifyHeader(_ request: ReceivedRequest, authorization: String, query: [QueryPair], now: AMZDate) throws(SigV4Error) -> SigV4Authentication {
        let header = try AuthorizationHeader.parse(authorization)
        let date: AMZDate
        if let amz = request.value(of: "x-amz-date") {
            guard let parsed = AMZDate(amz: amz.trimmingSpaces) else {
                throw SigV4Error(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header: '\(amz)' is not yyyyMMdd'T'HHmmss'Z'.")
            }
            date = parsed
        } else if let http = request.value(of: "date") {
            guard let parsed = AMZDate(httpDate: http.trimmingSpaces) else {
                throw SigV4Error(.accessDenied, "AWS authentication requires a valid Date or x-amz-date header.")
            }
            date = parsed
        } else {
            throw SigV4Error(.missingSecurityHeader, "Your request was missing a required header: x-amz-date (or Date).")
        }
        try checkScope(header.credential, date: date, code: .authorizationHeaderMalformed)
        let skew = date.secondsSince1970 - now.secondsSince1970
        guard abs(skew) <= Int64(options.maxClockSkew) else {
            throw SigV4Error(.requestTimeTooSkewed,
                             "The difference between the request time (\(date.amzString)) and the server's time (\(now.amzString)) is too large.")
        }
        let signedHeaders = try parseSignedHeaders(header.signedHeaders, code: .authorizationHeaderMalformed)

        let payloadHash: String
        if let claimed = request.value(of: "x-amz-content-sha256").map({ String($0.trimmingSpaces) }) {
            guard PayloadHash.isValid(claimed) else {
                throw SigV4Error(.invalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value.")
            }
            payloadHash = claimed
        } else if let fallback = options.payloadHashWhenHeaderAbsent {
            payloadHash = fallback
        } else {
            throw SigV4Error(.invalidRequest, "Missing required header for this request: x-amz-content-sha256")
        }

        try checkAmzHeadersSigned(request, signedHeaders: signedHeaders)
        let credentials = try lookUp(header.credential.accessKeyId, sessionToken: request.value(of: "x-amz-security-token"))
        let canonicalQuery = Canonical.query(query.map { ($0.nameBytes, $0.valueBytes) })
        let key = try check(signatureHex: header.signature, request: request, canonicalQuery: canonicalQuery,
                            signedHeaders: signedHeaders, signedHeadersText: header.signedHeaders, payloadHash: payloadHash,
                            date: date, credential: header.credential, credentials: credentials)
        return SigV4Authentication(kind: .header, credentials: credentials, date: date, scope: header.credential.scope,
                                   signature: header.signature, payloadHash: payloadHash, signedHeaders: signedHeaders,
                                   expiresAt: nil, signingKey: key)
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: SubSequence {
        var s = self[...]
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
