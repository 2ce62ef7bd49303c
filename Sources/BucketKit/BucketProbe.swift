import AsyncHTTPClient
import Foundation
import HoistSupport
import NIOCore
import NIOHTTP1
import S3

/// The doctor's live requests, as a browser makes them: a CORS preflight per origin, then a
/// pre-signed PUT, GET and DELETE of `hoist-doctor/probe-<random>`, signed as `hoist api` signs.
///
/// ```swift
/// let report = await BucketProbe(s3: client).run(wants)
/// ```
public struct BucketProbe: Sendable {
    public let s3: S3Client
    public let httpClient: HTTPClient
    /// Time allowed for each request.
    public let timeout: TimeAmount

    public init(s3: S3Client, httpClient: HTTPClient = .shared, timeout: TimeAmount = .seconds(20)) {
        self.s3 = s3
        self.httpClient = httpClient
        self.timeout = timeout
    }

    /// The prefix of probe keys.
    public static let keyPrefix = "hoist-doctor/probe-"

    /// Runs the probe; never throws: each failure is an outcome.
    public func run(_ wants: BucketWants) async -> BucketProbeReport {
        var report = BucketProbeReport()
        let key = Self.keyPrefix + Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        let origins = wants.origins.filter { $0 != "*" }
        for origin in origins {
            report.preflight[origin] = await preflight(bucket: wants.bucket, key: key, origin: origin)
        }
        let origin = origins.first
        let body = Array("hoist bucket doctor probe \(key)\n".utf8)

        // PUT, as an upload URL of `hoist api` (Content-Type, Content-Length, If-None-Match: * bound).
        let put: Response
        do {
            let signed = try await s3.presign(method: "PUT", bucket: wants.bucket, key: key,
                                              headers: [("Content-Type", "text/plain"), ("Content-Length", String(body.count)),
                                                        ("If-None-Match", "*")], expires: 300)
            put = try await send("PUT", signed.url, headers: signed.headers, origin: origin, body: body)
        } catch {
            report.roundTrip = .failed("pre-signed PUT of \(key): \(error)")
            report.etagReadable = .notRun("the probe PUT failed")
            return report
        }
        guard (200..<300).contains(put.status) else {
            report.roundTrip = .failed("pre-signed PUT of \(key) answered \(put.describe)")
            report.etagReadable = .notRun("the probe PUT failed")
            return report
        }
        let versionId = put.header("x-amz-version-id").flatMap { $0.isEmpty || $0 == "null" ? nil : $0 }
        var exposedOn: [String] = []
        if put.exposes("etag") { exposedOn.append("PUT") }

        // GET it back.
        var problems: [String] = []
        do {
            let signed = try await s3.presign(method: "GET", bucket: wants.bucket, key: key, expires: 300)
            let get = try await send("GET", signed.url, headers: [], origin: origin, body: nil)
            if !(200..<300).contains(get.status) {
                problems.append("GET answered \(get.describe)")
            } else if get.body != body {
                problems.append("GET returned \(get.body.count) bytes, not the \(body.count) written")
            }
            if get.exposes("etag") { exposedOn.append("GET") }
        } catch {
            problems.append("GET: \(error)")
        }

        // DELETE it (the version itself when versioned, so nothing is left behind).
        do {
            let query = versionId.map { [("versionId", $0)] } ?? []
            let signed = try await s3.presign(method: "DELETE", bucket: wants.bucket, key: key, query: query, expires: 300)
            let delete = try await send("DELETE", signed.url, headers: [], origin: origin, body: nil)
            if !(200..<300).contains(delete.status) { problems.append("DELETE answered \(delete.describe)") }
        } catch {
            problems.append("DELETE: \(error)")
        }

        report.roundTrip = problems.isEmpty
            ? .passed("pre-signed PUT, GET and DELETE of \(key) worked\(versionId == nil ? "" : " (version \(versionId ?? ""))")")
            : .failed(problems.joined(separator: "; "))
        if origin == nil {
            report.etagReadable = .notRun("no origin configured")
        } else if exposedOn.isEmpty {
            let seen = put.header("access-control-expose-headers").map { "'\($0)'" } ?? "none"
            report.etagReadable = .failed("a PUT with Origin \(origin ?? "") got Access-Control-Expose-Headers \(seen): scripts cannot read ETag")
        } else {
            report.etagReadable = .passed("Access-Control-Expose-Headers names ETag on \(exposedOn.joined(separator: " and ")) with Origin \(origin ?? "")")
        }
        return report
    }

    /// Whether a pre-signed PUT (as `hoist api` signs it) and DELETE of a probe key work: `nil`, or what was answered.
    public func uploadWorks(bucket: String) async -> String? {
        let key = Self.keyPrefix + Hex.encode((0..<8).map { _ in UInt8.random(in: 0...255) })
        let body = Array("hoist bucket setup probe\n".utf8)
        do {
            let signed = try await s3.presign(method: "PUT", bucket: bucket, key: key,
                                              headers: [("Content-Type", "text/plain"), ("Content-Length", String(body.count)),
                                                        ("If-None-Match", "*")], expires: 300)
            let put = try await send("PUT", signed.url, headers: signed.headers, origin: nil, body: body)
            guard (200..<300).contains(put.status) else { return put.describe }
            let versionId = put.header("x-amz-version-id").flatMap { $0.isEmpty || $0 == "null" ? nil : $0 }
            let delete = try await s3.presign(method: "DELETE", bucket: bucket, key: key, query: versionId.map { [("versionId", $0)] } ?? [],
                                              expires: 300)
            _ = try await send("DELETE", delete.url, headers: [], origin: nil, body: nil)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// `OPTIONS` with `Origin`, `Access-Control-Request-Method: PUT` and the headers an upload sends.
    func preflight(bucket: String, key: String, origin: String) async -> BucketProbeReport.Outcome {
        let requested = BucketWants.preflightHeaders.joined(separator: ",")
        let response: Response
        do {
            response = try await send("OPTIONS", s3.url(bucket: bucket, key: key),
                                      headers: [("Access-Control-Request-Method", "PUT"), ("Access-Control-Request-Headers", requested)],
                                      origin: origin, body: nil)
        } catch {
            return .failed("OPTIONS failed: \(error)")
        }
        guard (200..<300).contains(response.status) else {
            return .failed("OPTIONS answered \(response.describe)")
        }
        let allowOrigin = response.header("access-control-allow-origin") ?? ""
        guard allowOrigin == origin || allowOrigin == "*" else {
            return .failed("OPTIONS answered Access-Control-Allow-Origin '\(allowOrigin)'")
        }
        let methods = response.header("access-control-allow-methods") ?? ""
        guard Response.list(methods).contains("put") else {
            return .failed("OPTIONS answered Access-Control-Allow-Methods '\(methods)', without PUT")
        }
        let headers = Response.list(response.header("access-control-allow-headers") ?? "")
        let missing = BucketWants.preflightHeaders.filter { !headers.contains($0) && !headers.contains("*") }
        guard missing.isEmpty else {
            return .failed("OPTIONS did not allow the headers \(missing.joined(separator: ", "))")
        }
        return .passed("PUT with \(requested) allowed")
    }

    struct Response {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]

        func header(_ name: String) -> String? { headers.first(name: name) }

        static func list(_ value: String) -> [String] {
            value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        }

        func exposes(_ name: String) -> Bool {
            headers[canonicalForm: "access-control-expose-headers"].contains { $0.lowercased() == name }
        }

        /// `HTTP 403 AccessDenied: message` (S3's code and message, when the body has them).
        var describe: String {
            let text = String(decoding: body.prefix(4096), as: UTF8.self)
            func element(_ name: String) -> String? {
                guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex)
                else { return nil }
                return String(text[open.upperBound..<close.lowerBound])
            }
            let code = element("Code").map { " \($0)" } ?? ""
            let message = element("Message").map { ": \($0)" } ?? ""
            return "HTTP \(status)\(code)\(message)"
        }
    }

    func send(_ method: String, _ url: String, headers: [(String, String)], origin: String?, body: [UInt8]?) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers where name.lowercased() != "content-length" {
            request.headers.add(name: name, value: value)
        }
        if let origin { request.headers.add(name: "Origin", value: origin) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await httpClient.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: 1024 * 1024)
        return Response(status: Int(response.status.code), headers: response.headers, body: Array(collected.readableBytesView))
    }
}
