import AsyncHTTPClient
import Crypto
import Foundation
import HoistSupport
import NIOCore
import NIOHTTP1
import SigV4

/// What a `HEAD` of a bucket answered, whatever its status: for existence, region and the server's clock.
public struct S3BucketHead: Sendable {
    /// The HTTP status (`200`, `403`, `404`, …).
    public var status: Int
    /// The response's `Date`, when it has a readable one.
    public var date: Date?
    /// `x-amz-bucket-region`, when sent.
    public var region: String?
}

extension S3Client {
    /// Sends `HEAD /bucket` and answers whatever came back: the status, the server's `Date`, the bucket's region.
    ///
    /// Unlike the other calls this does not throw on a non-2xx status: a `HEAD` carries no error body,
    /// and the `Date` of a `403` still tells the server's clock.
    /// - Throws: only connection failures and time-outs, and the credential provider's errors.
    public func headBucket(_ bucket: String) async throws -> S3BucketHead {
        let request = Request(operation: "HeadBucket", method: .HEAD, bucket: bucket, key: "")
        let response = try await send(request)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        let date = response.headers.first(name: "date").flatMap(HTTPDate.parse)
        return S3BucketHead(status: Int(response.status.code), date: date, region: response.headers.first(name: "x-amz-bucket-region"))
    }

    /// The bucket's CORS rules (S3 GetBucketCors); `[]` when it has none (`NoSuchCORSConfiguration`).
    /// - Throws: ``S3ClientError``.
    public func getBucketCORS(_ bucket: String) async throws -> [S3CORSRule] {
        guard let xml = try await getSubresource("GetBucketCors", bucket, "cors", missing: ["NoSuchCORSConfiguration"]) else { return [] }
        return S3CORSRule.parse(xml)
    }

    /// Replaces the bucket's CORS rules (S3 PutBucketCors).
    /// - Throws: ``S3ClientError``.
    public func putBucketCORS(_ bucket: String, rules: [S3CORSRule]) async throws {
        try await putSubresource("PutBucketCors", bucket, "cors", body: S3CORSRule.render(rules))
    }

    /// The bucket's versioning status (S3 GetBucketVersioning): `Enabled`, `Suspended`, or `nil` for a
    /// bucket never versioned.
    /// - Throws: ``S3ClientError``.
    public func getBucketVersioning(_ bucket: String) async throws -> String? {
        guard let xml = try await getSubresource("GetBucketVersioning", bucket, "versioning", missing: []) else { return nil }
        return S3XML.text(of: "Status", in: Substring(xml)).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Turns versioning on or suspends it (S3 PutBucketVersioning).
    /// - Throws: ``S3ClientError``.
    public func putBucketVersioning(_ bucket: String, enabled: Bool) async throws {
        try await putSubresource("PutBucketVersioning", bucket, "versioning",
                                 body: S3XML.document("VersioningConfiguration", S3XML.element("Status", enabled ? "Enabled" : "Suspended")))
    }

    /// The bucket's default encryption (S3 GetBucketEncryption); `nil` when it has none
    /// (`ServerSideEncryptionConfigurationNotFoundError`).
    /// - Throws: ``S3ClientError``.
    public func getBucketEncryption(_ bucket: String) async throws -> S3BucketEncryption? {
        guard let xml = try await getSubresource("GetBucketEncryption", bucket, "encryption",
                                                 missing: ["ServerSideEncryptionConfigurationNotFoundError"]) else { return nil }
        return S3BucketEncryption.parse(xml)
    }

    /// Sets the bucket's default encryption (S3 PutBucketEncryption).
    /// - Throws: ``S3ClientError``.
    public func putBucketEncryption(_ bucket: String, _ encryption: S3BucketEncryption) async throws {
        try await putSubresource("PutBucketEncryption", bucket, "encryption", body: encryption.xml)
    }

    /// The bucket's Block Public Access settings (S3 GetPublicAccessBlock); `nil` when it has none
    /// (`NoSuchPublicAccessBlockConfiguration`).
    /// - Throws: ``S3ClientError``.
    public func getPublicAccessBlock(_ bucket: String) async throws -> S3PublicAccessBlock? {
        guard let xml = try await getSubresource("GetPublicAccessBlock", bucket, "publicAccessBlock",
                                                 missing: ["NoSuchPublicAccessBlockConfiguration"]) else { return nil }
        return S3PublicAccessBlock.parse(xml)
    }

    /// Sets the bucket's Block Public Access settings (S3 PutPublicAccessBlock).
    /// - Throws: ``S3ClientError``.
    public func putPublicAccessBlock(_ bucket: String, _ block: S3PublicAccessBlock) async throws {
        try await putSubresource("PutPublicAccessBlock", bucket, "publicAccessBlock", body: block.xml)
    }

    /// The bucket policy's JSON (S3 GetBucketPolicy); `nil` when it has none (`NoSuchBucketPolicy`).
    /// - Throws: ``S3ClientError``.
    public func getBucketPolicy(_ bucket: String) async throws -> String? {
        try await getSubresource("GetBucketPolicy", bucket, "policy", missing: ["NoSuchBucketPolicy"])
    }

    /// Replaces the bucket policy (S3 PutBucketPolicy).
    /// - Throws: ``S3ClientError`` (`MalformedPolicy` when the endpoint refuses the document).
    public func putBucketPolicy(_ bucket: String, json: String) async throws {
        try await putSubresource("PutBucketPolicy", bucket, "policy", body: json, contentType: "application/json")
    }

    /// The bucket's lifecycle rules (S3 GetBucketLifecycleConfiguration); `[]` when it has none
    /// (`NoSuchLifecycleConfiguration`).
    /// - Throws: ``S3ClientError``.
    public func getBucketLifecycle(_ bucket: String) async throws -> [S3LifecycleRule] {
        guard let xml = try await getSubresource("GetBucketLifecycleConfiguration", bucket, "lifecycle",
                                                 missing: ["NoSuchLifecycleConfiguration"]) else { return [] }
        return S3LifecycleRule.parse(xml)
    }

    /// Replaces the bucket's lifecycle rules (S3 PutBucketLifecycleConfiguration).
    /// - Throws: ``S3ClientError``.
    public func putBucketLifecycle(_ bucket: String, rules: [S3LifecycleRule]) async throws {
        try await putSubresource("PutBucketLifecycleConfiguration", bucket, "lifecycle", body: S3LifecycleRule.render(rules))
    }

    /// The bucket's event notifications (S3 GetBucketNotificationConfiguration).
    /// - Throws: ``S3ClientError``.
    public func getBucketNotification(_ bucket: String) async throws -> S3NotificationConfiguration {
        guard let xml = try await getSubresource("GetBucketNotificationConfiguration", bucket, "notification", missing: []) else {
            return S3NotificationConfiguration()
        }
        return S3NotificationConfiguration.parse(xml)
    }

    /// Replaces the bucket's event notifications (S3 PutBucketNotificationConfiguration).
    /// - Throws: ``S3ClientError``.
    public func putBucketNotification(_ bucket: String, _ configuration: S3NotificationConfiguration) async throws {
        try await putSubresource("PutBucketNotificationConfiguration", bucket, "notification", body: configuration.xml)
    }

    /// The credentials requests are signed with now (to see when temporary ones expire).
    /// - Throws: the credential provider's error.
    public func currentCredentials() async throws -> SigV4Credentials {
        try await signers.provider.credentials()
    }

    /// Pre-signs a URL for an object of this endpoint, as `hoist api` does for uploads.
    /// - Parameters:
    ///   - method: `PUT`, `GET`, `DELETE`, ….
    ///   - query: extra query parameters (`versionId`).
    ///   - headers: headers to bind (`Content-Type`, `Content-Length`, `If-None-Match`).
    ///   - expires: lifetime in seconds.
    /// - Throws: the credential provider's error, or ``SigV4Error``.
    public func presign(method: String, bucket: String, key: String, query: [(String, String)] = [],
                        headers: [(String, String)] = [], expires: Int, date: Date = Date()) async throws -> PresignedRequest {
        let signer = try await signers.signer()
        let (host, path) = endpoint.location(bucket: bucket, key: key)
        return try signer.presign(method: method, scheme: endpoint.scheme, host: host, path: path, query: query,
                                  headers: headers, expires: expires, date: date)
    }

    /// The URL of an object (or of the bucket when `key` is empty), unsigned.
    public func url(bucket: String, key: String) -> String {
        target(of: Request(operation: "", method: .GET, bucket: bucket, key: key)).url
    }

    // MARK: Sub-resources

    /// GETs `?name` of the bucket; `nil` when the endpoint answers one of the `missing` codes.
    func getSubresource(_ operation: String, _ bucket: String, _ name: String, missing: Set<String>) async throws -> String? {
        let request = Request(operation: operation, method: .GET, bucket: bucket, key: "", query: [(name, "")])
        do {
            let response = try await execute(request)
            let body = try await response.body.collect(upTo: 1024 * 1024)
            let text = String(buffer: body)
            return text.isEmpty ? nil : text
        } catch let error as S3ClientError where missing.contains(error.code.rawValue) {
            return nil
        } catch is NIOTooManyBytesError {
            throw S3ClientError(operation: operation, bucket: bucket, key: "", status: nil, code: .responseTooLarge,
                                message: "The \(name) document is larger than 1 MiB.")
        }
    }

    /// PUTs `body` to `?name` of the bucket, with its `Content-MD5` (S3 requires one for several of these).
    func putSubresource(_ operation: String, _ bucket: String, _ name: String, body: String,
                        contentType: String = "application/xml") async throws {
        let bytes = Array(body.utf8)
        let md5 = Data(Insecure.MD5.hash(data: bytes)).base64EncodedString()
        let request = Request(operation: operation, method: .PUT, bucket: bucket, key: "", query: [(name, "")],
                              headers: [("Content-Type", contentType), ("Content-MD5", md5)],
                              body: .bytes(ByteBuffer(bytes: bytes)), payloadHash: Hex.encode(SHA256.hash(data: bytes)))
        let response = try await execute(request)
        _ = try await response.body.collect(upTo: 64 * 1024)
    }

    /// Signs and sends `request`; answers the response whatever its status.
    func send(_ request: Request, date: Date = Date()) async throws -> HTTPClientResponse {
        let (url, host, path) = target(of: request)
        let signer = try await signers.signer()
        let signed = signer.signHeaders(method: request.method.rawValue, host: host, path: path, query: request.query,
                                        headers: request.headers, payloadHash: request.payloadHash, date: date)
        var http = HTTPClientRequest(url: url)
        http.method = request.method
        for (name, value) in signed.headers { http.headers.add(name: name, value: value) }
        http.body = request.body
        return try await httpClient.execute(http, timeout: request.timeout ?? timeout, logger: logger)
    }
}

/// HTTP dates (`Date`, `Last-Modified`): RFC 1123, which is what servers send.
public enum HTTPDate {
    /// Parses `Sun, 06 Nov 1994 08:49:37 GMT`; `nil` for anything else.
    public static func parse(_ text: String) -> Date? {
        // Day, DD Mon YYYY HH:MM:SS GMT
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT" || parts[5] == "UTC" || parts[5] == "+0000",
              let day = Int(parts[1]), let year = Int(parts[3]) else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let monthIndex = months.firstIndex(of: String(parts[2])) else { return nil }
        let time = parts[4].split(separator: ":")
        guard time.count == 3, let hour = Int(time[0]), let minute = Int(time[1]), let second = Int(time[2]),
              (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second),
              (1970...9999).contains(year) else { return nil }
        var components = DateComponents()
        components.year = year
        components.month = monthIndex + 1
        components.day = day
        components.hour = hour
        components.minute = minute
        components.second = second
        var calendar = Calendar(identifier: .gregorian)
        guard let utc = TimeZone(identifier: "UTC") else { return nil }
        calendar.timeZone = utc
        return calendar.date(from: components)
    }
}
