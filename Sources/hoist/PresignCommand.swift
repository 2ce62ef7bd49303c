import ArgumentParser
import Foundation
import S3
import SigV4

/// `hoist presign`: print a SigV4 pre-signed URL.
struct PresignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presign",
        abstract: "Print a SigV4 pre-signed URL for an S3 object.",
        discussion: """
            Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, \
            from a profile of ~/.aws/credentials (--profile, or AWS_PROFILE), or from the container \
            credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI, as on ECS). \
            Nothing is sent to storage: the URL is computed locally. A URL never outlives temporary \
            credentials: its lifetime is cut to what they have left, with a warning.

            Every header bound with --header (or a shortcut) must be sent by the client with \
            exactly that value, or storage answers 403 SignatureDoesNotMatch.

            Examples:
              hoist presign GET article-images photos/cat.png --endpoint http://127.0.0.1:9000
              hoist presign PUT article-images "my photo.png" --endpoint http://127.0.0.1:9000 \\
                  --content-type image/png --content-length 52133 --if-none-match '*' --expires 300
              hoist presign GET my-bucket report.pdf --region eu-west-1 --json
            """
    )

    @Argument(help: "The HTTP method the URL is for: GET, PUT, HEAD, DELETE, POST.")
    var method: String

    @Argument(help: "The bucket name.")
    var bucket: String

    @Argument(help: "The object key, as stored (not URL-encoded): 'photos/my photo+1.png'.")
    var key: String

    @Option(help: "The S3 endpoint, scheme://host[:port]. Default: AWS S3 for the region.")
    var endpoint: String?

    @Option(help: "The region of the signature's scope. Default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1.")
    var region: String?

    @Option(help: "The service of the signature's scope.")
    var service: String = "s3"

    @Option(help: "Lifetime of the URL in seconds, 1 to 604800 (7 days).")
    var expires: Int = 900

    @Option(name: [.customShort("H"), .long], help: "A header to bind into the signature, 'Name: value'. Repeatable.")
    var header: [String] = []

    @Option(help: "Bind Content-Type: the upload must declare this type.")
    var contentType: String?

    @Option(help: "Bind Content-Length: the upload must be exactly this many bytes.")
    var contentLength: Int?

    @Option(help: "Bind x-amz-checksum-sha256 (base64 SHA-256 of the body): storage refuses other bytes.")
    var checksumSha256: String?

    @Option(help: "Bind If-None-Match (use '*' so the URL cannot overwrite an existing object).")
    var ifNoneMatch: String?

    @Option(help: "An extra query parameter to sign, name=value (e.g. versionId=…). Repeatable.")
    var query: [String] = []

    @Option(help: "Bucket addressing: path (host/bucket/key) or virtual (bucket.host/key). Default: path with --endpoint, virtual for AWS.")
    var addressing: S3Endpoint.Addressing?

    @Option(help: "Sign at this time instead of now: 20130524T000000Z or 2013-05-24T00:00:00Z. For reproducing a signature.")
    var date: String?

    @Option(help: "Use this profile of ~/.aws/credentials instead of the environment's keys.")
    var profile: String?

    @Flag(help: "Print JSON: url, method, headers to send, expiresAt, canonicalRequest, stringToSign, signature.")
    var json = false

    func validate() throws {
        guard (1...SigV4Signer.maximumExpiry).contains(expires) else {
            throw ValidationError("--expires must be between 1 and \(SigV4Signer.maximumExpiry) seconds (7 days); got \(expires).")
        }
        if let contentLength, contentLength < 0 { throw ValidationError("--content-length must not be negative.") }
        if let date, parseSigningTime(date) == nil {
            throw ValidationError("--date must look like 20130524T000000Z or 2013-05-24T00:00:00Z; got '\(date)'.")
        }
        guard !bucket.isEmpty else { throw ValidationError("The bucket name must not be empty.") }
    }

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let region = self.region ?? env["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 }
            ?? env["AWS_DEFAULT_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? "us-east-1"
        let credentials: SigV4Credentials
        do {
            credentials = try await CredentialChain(environment: env).provider(profile: profile).credentials()
        } catch {
            throw ValidationError("\(error)")
        }
        var target: S3Endpoint
        if let endpoint {
            do { target = try S3Endpoint(url: endpoint, addressing: addressing ?? .path) } catch { throw ValidationError("\(error)") }
        } else {
            target = S3Endpoint.aws(region: region)
            if let addressing { target.addressing = addressing }
        }
        var headers: [(String, String)] = []
        for item in header {
            guard let colon = item.firstIndex(of: ":"), !item[..<colon].trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("--header must be 'Name: value'; got '\(item)'.")
            }
            headers.append((item[..<colon].trimmingCharacters(in: .whitespaces),
                            item[item.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let contentLength { headers.append(("Content-Length", String(contentLength))) }
        if let checksumSha256 { headers.append(("x-amz-checksum-sha256", checksumSha256)) }
        if let ifNoneMatch { headers.append(("If-None-Match", ifNoneMatch)) }
        var extraQuery: [(String, String)] = []
        for item in query {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ValidationError("--query must be name=value; got '\(item)'.")
            }
            extraQuery.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
        }

        let signer = SigV4Signer(credentials: credentials, region: region, service: service)
        let (host, path) = target.location(bucket: bucket, key: key)
        let signingTime = date.flatMap(parseSigningTime) ?? Date()
        let presigned: PresignedRequest
        do {
            presigned = try signer.presign(method: method.uppercased(), scheme: target.scheme, host: host, path: path,
                                           query: extraQuery, headers: headers, expires: expires, date: signingTime)
        } catch {
            throw ValidationError(error.message)
        }
        if presigned.expiresIn < expires {
            FileHandle.standardError.write(Data(("warning: the URL lives \(presigned.expiresIn) s, not \(expires) s: "
                + "the signing credentials expire at \(credentials.expiration.map { AMZDate($0).iso8601String } ?? "?").\n").utf8))
        }
        if json {
            var sendHeaders: [String: String] = [:]
            for (name, value) in presigned.headers { sendHeaders[name] = value }
            print(jsonLine([
                "url": presigned.url,
                "method": presigned.method,
                "headers": sendHeaders,
                "expiresIn": presigned.expiresIn,
                "expiresAt": AMZDate(presigned.expiresAt).iso8601String,
                "canonicalRequest": presigned.canonicalRequest,
                "stringToSign": presigned.stringToSign,
                "signature": presigned.signature,
            ]))
        } else {
            print(presigned.url)
        }
    }
}

extension S3Endpoint.Addressing: ExpressibleByArgument {}
