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
    public var headers: HTTPFields = [:]

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

    /// `{"error":{"code":…,"message":…}}`.
    struct Envelope: Encodable {
        struct Body: Encodable {
            var code: String
            var message: String
        }
        var error: Body
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try APIJSON.response(Envelope(error: .init(code: code, message: message)), status: status, extraHeaders: headers)
    }
}

/// Renders every failure as the API's JSON error envelope: unknown routes
/// (`not_found`), Hummingbird's own errors, and unexpected ones (`internal_error`,
/// logged, with no detail leaked to the caller).
public struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Creates the middleware.
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            let code: String
            switch error.status {
            case .notFound: code = "not_found"
            case .methodNotAllowed: code = "method_not_allowed"
            case .contentTooLarge: code = "payload_too_large"
            case .badRequest: code = "invalid_request"
            case .unauthorized: code = "unauthorized"
            default: code = error.status.code >= 500 ? "internal_error" : "error"
            }
            let message = error.status == .notFound ? "No route \(request.method.rawValue) \(request.uri.path)." : (error.body ?? error.status.reasonPhrase)
            throw APIError(error.status, code, message)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(error)", "http.path": "\(request.uri.path)"])
            throw APIError(.internalServerError, "internal_error", "Something went wrong on our side.")
        }
    }
}
