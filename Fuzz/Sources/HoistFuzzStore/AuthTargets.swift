import Auth
import Foundation
import HoistFuzzKit
import Logging

/// The bearer token's compact JWS reader and the issuer's JWKS reader.
enum AuthTargets {
    /// The compact JWS reader: split, base64url, header and claims (FlatJSON).
    static let jws = FuzzTarget("jws") { bytes in
        _ = try? CompactJWS(String(decoding: bytes, as: UTF8.self))
    }

    static let logger = Logger(label: "fuzz.jwks", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The JWKS document reader (RSA and P-256 keys through JWTKit).
    static let jwks = FuzzTarget("jwks") { bytes in
        runBlocking {
            if let set = try? await JWKSKeySet.parse(Data(bytes), logger: logger) {
                fuzzCheck(set.count >= 0, "a negative key count")
            }
        }
    }
}
