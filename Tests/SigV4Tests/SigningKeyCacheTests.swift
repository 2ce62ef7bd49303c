import Crypto
import Foundation
import SigV4
import Testing

@Suite("Signing keys")
struct SigningKeyCacheTests {
    @Test("the derived key matches the published example")
    func derivation() {
        let key = SigningKey(secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", date: "20130524", region: "us-east-1", service: "s3")
        #expect(hexString(key.bytes) == "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378")
    }

    @Test("the prepared HMAC equals swift-crypto's HMAC for many lengths")
    func preparedHMAC() {
        for keyLength in [0, 1, 32, 63, 64, 65, 200] {
            let keyBytes = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
            let prepared = PreparedHMAC(key: keyBytes)
            for messageLength in [0, 1, 55, 56, 64, 65, 1000] {
                let message = (0..<messageLength).map { UInt8(truncatingIfNeeded: $0 &* 13) }
                let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: keyBytes)))
                #expect(prepared.authenticationCode(for: message) == expected, "key \(keyLength), message \(messageLength)")
            }
        }
    }

    @Test("keys are cached per secret, date, region and service, and the cache is bounded")
    func cache() {
        let cache = SigningKeyCache(capacity: 3)
        let a = cache.key(secretAccessKey: "s1", date: "20240101", region: "us-east-1", service: "s3")
        #expect(cache.count == 1)
        let again = cache.key(secretAccessKey: "s1", date: "20240101", region: "us-east-1", service: "s3")
        #expect(again.bytes == a.bytes)
        #expect(cache.count == 1)
        let b = cache.key(secretAccessKey: "s2", date: "20240101", region: "us-east-1", service: "s3")
        let c = cache.key(secretAccessKey: "s1", date: "20240102", region: "us-east-1", service: "s3")
        #expect(a.bytes != b.bytes && a.bytes != c.bytes)
        #expect(cache.count == 3)
        _ = cache.key(secretAccessKey: "s1", date: "20240101", region: "eu-west-1", service: "s3")
        #expect(cache.count == 1)
    }

    @Test("credentials never print their secret")
    func redaction() {
        let c = SigV4Credentials(accessKeyId: "AKID", secretAccessKey: "very-secret", sessionToken: "tok")
        #expect(!"\(c)".contains("very-secret"))
        #expect(!"\(c)".contains("tok\""))
        #expect("\(c)".contains("AKID"))
    }
}
