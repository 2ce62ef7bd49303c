import ArgumentParser
import Foundation
import S3
import SigV4

/// `hoist verify`: check signed requests as S3 would, one JSON line at a time.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check SigV4-signed requests as S3 would (a debugging tool).",
        discussion: """
            Reads one JSON object per line on standard input and writes one JSON result per line. \
            Accepts signatures made with the credentials of the environment (AWS_ACCESS_KEY_ID, \
            AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or of --profile.

            A header-signed or pre-signed request, with the URL exactly as on the wire:
              {"method":"GET","url":"http://127.0.0.1:9000/b/my%20key?X-Amz-...","headers":[["Host","127.0.0.1:9000"]]}
            A browser POST form (all fields but the file):
              {"bucket":"b","form":{"key":"...","policy":"...","x-amz-signature":"...", ...}}

            Result: {"ok":true,"auth":"query","accessKeyId":"..."} or
                    {"ok":false,"code":"SignatureDoesNotMatch","message":"..."}
            """
    )

    @Option(help: "The region signatures must be scoped to.")
    var region: String = "us-east-1"

    @Option(help: "The service signatures must be scoped to.")
    var service: String = "s3"

    @Option(help: "Verify as if the time were this: 20130524T000000Z or 2013-05-24T00:00:00Z. Default: now.")
    var now: String?

    @Option(help: "Accept the keys of this profile of ~/.aws/credentials instead of the environment's.")
    var profile: String?

    func validate() throws {
        if let now, parseSigningTime(now) == nil {
            throw ValidationError("--now must look like 20130524T000000Z or 2013-05-24T00:00:00Z; got '\(now)'.")
        }
    }

    func run() throws {
        let credentials: SigV4Credentials
        do { credentials = try CredentialChain().resolve(profile: profile) } catch { throw ValidationError("\(error)") }
        let verifier = SigV4Verifier(credentials: StaticCredentialStore([credentials]),
                                     options: .init(region: region, service: service))
        while let line = readLine(strippingNewline: true) {
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let result = jsonLine(Self.check(line, verifier: verifier, fixedNow: now.flatMap(parseSigningTime)))
            FileHandle.standardOutput.write(Data((result + "\n").utf8))
        }
    }

    static func check(_ line: String, verifier: SigV4Verifier, fixedNow: Date?) -> [String: Any] {
        func bad(_ code: String, _ message: String) -> [String: Any] { ["ok": false, "code": code, "message": message] }
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            return bad("InvalidInput", "The line is not a JSON object.")
        }
        let now = fixedNow ?? Date()
        do {
            if let form = object["form"] as? [String: Any] {
                let bucket = object["bucket"] as? String ?? ""
                let fields = form.compactMap { name, value in (value as? String).map { (name, $0) } }
                guard let result = try verifier.verifyPOST(fields: fields, bucket: bucket, now: now) else {
                    return bad("AccessDenied", "The form carries no policy: anonymous.")
                }
                var out: [String: Any] = ["ok": true, "auth": "post", "accessKeyId": result.authentication.accessKeyId]
                if let range = result.contentLengthRange { out["contentLengthRange"] = [range.lowerBound, range.upperBound] }
                return out
            }
            guard let method = object["method"] as? String, let url = object["url"] as? String else {
                return bad("InvalidInput", "A request needs \"method\" and \"url\" (or \"form\" and \"bucket\").")
            }
            guard let schemeEnd = url.range(of: "://") else { return bad("InvalidInput", "The url needs a scheme.") }
            let afterScheme = url[schemeEnd.upperBound...]
            let slash = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
            let authority = String(afterScheme[..<slash])
            var target = String(afterScheme[slash...])
            if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
            var headers: [(String, String)] = []
            for pair in object["headers"] as? [[Any]] ?? [] {
                guard pair.count == 2, let name = pair[0] as? String, let value = pair[1] as? String else {
                    return bad("InvalidInput", "Each header must be [name, value].")
                }
                headers.append((name, value))
            }
            if !headers.contains(where: { $0.0.lowercased() == "host" }) { headers.append(("Host", authority)) }
            let request = ReceivedRequest(method: method, target: target, headers: headers)
            guard let auth = try verifier.verify(request, now: now) else {
                return bad("AccessDenied", "The request is not signed: anonymous.")
            }
            return ["ok": true, "auth": auth.kind.rawValue, "accessKeyId": auth.accessKeyId]
        } catch {
            return bad(error.code.rawValue, error.message)
        }
    }
}
