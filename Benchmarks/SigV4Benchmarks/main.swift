// SigV4 benchmarks: the cost of pre-signing and verifying one URL, next to
// botocore's generate_presigned_url for the same input.
//
//   swift run -c release SigV4Benchmarks [iterations]
//
// Prints ns/op for each operation, then botocore's figure (when python3 with
// botocore is available) and the ratio.
import Foundation
import Crypto
import SigV4

let iterations = CommandLine.arguments.dropFirst().first.flatMap(Int.init) ?? 200_000
let credentials = SigV4Credentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
let signer = SigV4Signer(credentials: credentials, region: "us-east-1")
let verifier = SigV4Verifier(credentials: StaticCredentialStore([credentials]))
let host = "127.0.0.1:9000"
let now = Date()
let runID = UUID().uuidString.lowercased()
let keys = (0..<iterations).map { "articles/3f1c9a52-8d7e-4b0a-9c61-2e5d7f8a9b10/raw/\(runID)-\($0).png" }

/// Runs `body` `count` times and returns nanoseconds per call (best of three rounds).
func measure(_ count: Int, _ body: (Int) throws -> Void) rethrows -> Double {
    var best = Double.infinity
    for _ in 0..<3 {
        let start = ContinuousClock.now
        for i in 0..<count { try body(i) }
        let elapsed = ContinuousClock.now - start
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        best = min(best, ns / Double(count))
    }
    return best
}

var sink = 0
func format(_ ns: Double) -> String { String(format: "%10.0f ns/op", ns) }

// Pre-sign a PUT binding Content-Type (as POST /upload-url does), unique key each time.
let presignNs = try measure(iterations) { i in
    let p = try signer.presign(method: "PUT", scheme: "http", host: host, path: "/article-images/\(keys[i])",
                               headers: [("Content-Type", "image/png")], expires: 900, date: now)
    sink &+= p.url.utf8.count
}

// What the caller spends building the arguments (path string, header list), included above.
let argumentsNs = measure(iterations) { i in
    let path = "/article-images/\(keys[i])"
    let headers = [("Content-Type", "image/png")]
    sink &+= path.utf8.count &+ headers.count
}

if ProcessInfo.processInfo.environment["HOIST_BENCH_PARTS"] != nil {
    let buffer = [UInt8](repeating: 0x61, count: 500)
    let sts = [UInt8](repeating: 0x62, count: 130)
    let key = signer.signingKey(for: AMZDate(now))
    print("sha256 500B:", format(measure(iterations) { _ in
        var h = SHA256(); buffer.withUnsafeBytes { h.update(bufferPointer: $0) }; sink &+= Int(h.finalize().withUnsafeBytes { $0[0] })
    }))
    print("prepared hmac 130B:", format(measure(iterations) { _ in sink &+= Int(key.hmac.authenticationCode(for: sts)[0]) }))
    print("key lookup:", format(measure(iterations) { _ in sink &+= signer.signingKey(for: AMZDate(now)).bytes.count }))
    print("alloc 600B array:", format(measure(iterations) { _ in var a: [UInt8] = []; a.reserveCapacity(600); a.append(1); sink &+= a.count }))
}

if ProcessInfo.processInfo.environment["HOIST_BENCH_ONLY_PRESIGN"] != nil {
    print("arguments only: \(format(argumentsNs))")
    print("presign only: \(format(presignNs))")
    exit(0)
}

// The same, also binding Content-Length, If-None-Match and x-amz-checksum-sha256.
let presignFullNs = try measure(iterations) { i in
    let p = try signer.presign(method: "PUT", scheme: "http", host: host, path: "/article-images/\(keys[i])",
                               headers: [("Content-Type", "image/png"), ("Content-Length", "1048576"), ("If-None-Match", "*"),
                                         ("x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")],
                               expires: 900, date: now)
    sink &+= p.url.utf8.count
}

// Verify pre-signed URLs as the store does on each request.
let sample = min(iterations, 20_000)
let received: [ReceivedRequest] = try (0..<sample).map { i in
    let p = try signer.presign(method: "PUT", scheme: "http", host: host, path: "/article-images/\(keys[i])",
                               headers: [("Content-Type", "image/png")], expires: 900, date: now)
    let target = String(p.url.dropFirst("http://\(host)".count))
    return ReceivedRequest(method: "PUT", target: target, headers: [("Host", host), ("Content-Type", "image/png"), ("Content-Length", "1048576")])
}
let verifyNs = try measure(iterations) { i in
    if try verifier.verify(received[i % sample], now: now) != nil { sink &+= 1 }
}

if ProcessInfo.processInfo.environment["HOIST_BENCH_ONLY_VERIFY"] != nil {
    print("verify only: \(format(verifyNs))")
    exit(0)
}

// Header signing of a PUT (the S3 client's path).
let headerNs = measure(iterations) { i in
    let s = signer.signHeaders(method: "PUT", host: host, path: "/article-images/\(keys[i])",
                               headers: [("Content-Type", "image/png")], payloadHash: PayloadHash.unsigned, date: now)
    sink &+= s.signature.utf8.count
}

// Deriving the signing key without the cache: the cost the cache saves per request.
let deriveNs = measure(max(1, iterations / 10)) { i in
    sink &+= SigningKey(secretAccessKey: credentials.secretAccessKey, date: "20240101", region: "us-east-1", service: "s3").bytes.count
}

print("SigV4 benchmarks (\(iterations) iterations, best of 3, release build: \(isReleaseBuild()))")
print("  presign PUT + Content-Type            \(format(presignNs))")
print("    of which building the arguments   \(format(argumentsNs))")
print("  presign PUT + 4 bound headers         \(format(presignFullNs))")
print("  verify pre-signed PUT                 \(format(verifyNs))")
print("  sign Authorization header (PUT)       \(format(headerNs))")
print("  derive signing key (uncached)         \(format(deriveNs))")

// botocore, same input, for comparison.
let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("botocore_presign.py")
let python = Process()
python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
python.arguments = ["python3", script.path, "5000"]
let pipe = Pipe()
python.standardOutput = pipe
do {
    try python.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    python.waitUntilExit()
    if python.terminationStatus == 0,
       let line = String(data: data, encoding: .utf8)?.split(separator: "\n").last,
       let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
       let botoNs = object["ns_per_op"] as? Double {
        print("  botocore generate_presigned_url (PUT) \(format(botoNs))")
        print(String(format: "  Hoist is %.0fx faster than botocore per pre-signed URL", botoNs / presignNs))
    } else {
        print("  botocore: not measured (\(script.lastPathComponent) failed; pip install botocore)")
    }
} catch {
    print("  botocore: not measured (\(error))")
}
if sink == 42 { print("") }

func isReleaseBuild() -> Bool {
    #if DEBUG
    return false
    #else
    return true
    #endif
}
