import Foundation
import Hummingbird
import HTTPTypes

/// An error of the upload API, rendered as `{"error":{"code":"…","message":"…"}}`
/// with the contract's status.
public struct APIError: Error, Sendable, CustomStringConvertible, HTTPResponseError {
    /// The HTTP status.
    public let status: HTTPResponse.Status
    /// A stable, machine-readable code, e.g. `unsupported_media_type`.
    public let code: String
    /// A human-readable message, safe to show to the caller.
    public let message: String
    /// Extra headers (`WWW-Authenticate`, `Retry-After`).
    public var headers: [(String, String)] = []

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "invalid_request", message) }
    public static func forbidden(_ message: String) -> APIError { APIError(.forbidden, "forbidden", message) }
    public static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }

    /// The JSON body.
    var body: ByteBuffer {
        let object: [String: Any] = ["error": ["code": code, "message": message]]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
        for (name, value) in headers {
            if let fieldName = HTTPField.Name(name) { fields[fieldName] = value }
        }
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: body))
    }
}
