extension SigV4Verifier {
    /// SigV4 query auth (pre-signed URLs).
    func verifyQuery(_ request: ReceivedRequest, query: [QueryPair], now: AMZDate) throws(SigV4Error) -> SigV4Authentication {
        // The X-Amz-* parameters, in one pass; a repeated one is an error.
        var amz: [String: String] = [:]
        for pair in query where pair.nameBytes.first == UInt8(ascii: "X") && pair.name.hasPrefix("X-Amz-") {
            guard amz.updateValue(pair.value, forKey: pair.name) == nil else {
                throw SigV4Error(.authorizationQueryParametersError, "The query parameter \(pair.name) appears more than once.")
            }
        }
        func single(_ name: String) -> String? { amz[name] }
        guard let algorithm = single("X-Amz-Algorithm"), let credentialText = single("X-Amz-Credential"),
              let signature = single("X-Amz-Signature"), let dateText = single("X-Amz-Date"),
              let signedHeadersText = single("X-Amz-SignedHeaders"), let expiresText = single("X-Amz-Expires") else {
            throw SigV4Error(.authorizationQueryParametersError,
                             "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
        }
        guard algorithm == Canonical.algorithm else {
            throw SigV4Error(.authorizationQueryParametersError, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".")
        }
        guard let credential = CredentialScope(credentialText) else {
            throw SigV4Error(.authorizationQueryParametersError,
                             "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
        }
        guard let date = AMZDate(amz: dateText) else {
            throw SigV4Error(.authorizationQueryParametersError, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".")
        }
        guard expiresText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), !expiresText.isEmpty,
              expiresText.utf8.count <= 10, let expires = Int(expiresText) else {
            throw SigV4Error(.authorizationQueryParametersError, "X-Amz-Expires should be a number of seconds between 1 and 604800.")
        }
        // A URL that lives 0 seconds expired when it was signed: 403 "Request has expired", as for
        // any expired URL (a negative value fails the digit check above: 400).
        guard expires >= 1 else { throw SigV4Error.expired() }
        guard expires <= SigV4Signer.maximumExpiry else {
            throw SigV4Error(.authorizationQueryParametersError, "X-Amz-Expires must be less than a week (in seconds) that is 604800.")
        }
        try checkScope(credential, date: date, code: .authorizationQueryParametersError)
        let signedHeaders = try parseSignedHeaders(signedHeadersText, code: .authorizationQueryParametersError)

        let expiresAt = AMZDate(secondsSince1970: date.secondsSince1970 + Int64(expires))
        guard now <= expiresAt else { throw SigV4Error.expired() }
        guard date.secondsSince1970 - now.secondsSince1970 <= Int64(options.maxClockSkew) else {
            throw SigV4Error(.accessDenied, "Request is not valid yet")
        }

        try checkAmzHeadersSigned(request, signedHeaders: signedHeaders)
        let credentials = try lookUp(credential.accessKeyId, sessionToken: single("X-Amz-Security-Token"))
        let payloadHash = single("X-Amz-Content-Sha256") ?? options.queryPayloadHash
        let canonicalQuery = Canonical.query(query.compactMap { $0.name == "X-Amz-Signature" ? nil : ($0.nameBytes, $0.valueBytes) })
        let key = try check(signatureHex: signature, request: request, canonicalQuery: canonicalQuery,
                            signedHeaders: signedHeaders, signedHeadersText: signedHeadersText, payloadHash: payloadHash,
                            date: date, credential: credential, credentials: credentials)
        return SigV4Authentication(kind: .query, credentials: credentials, date: date, scope: credential.scope,
                                   signature: signature, payloadHash: payloadHash, signedHeaders: signedHeaders,
                                   expiresAt: expiresAt, signingKey: key)
    }
}
