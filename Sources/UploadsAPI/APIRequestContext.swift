import Auth
import Hummingbird

/// A request context that can carry the caller once ``BearerAuthenticator`` has verified
/// their token. The upload API's routes need one; a server may use ``APIRequestContext``
/// or its own context with a `user` property.
public protocol AuthenticatedRequestContext: RequestContext {
    /// The verified caller; `nil` before authentication (and on public routes).
    var user: AuthenticatedUser? { get set }
}

extension AuthenticatedRequestContext {
    /// The verified caller of a route behind ``BearerAuthenticator``.
    ///
    /// - Throws: ``APIError`` `missing_token` (401) when no authenticator ran.
    public func requireUser() throws(APIError) -> AuthenticatedUser {
        guard let user else { throw BearerAuthenticator<Self>.missingToken }
        return user
    }
}

/// The upload API's request context: Hummingbird's core context and the caller.
///
/// ```swift
/// let router = Router(context: APIRequestContext.self)
/// UploadsAPI(service: service, verifier: verifier).addRoutes(to: router)
/// ```
public struct APIRequestContext: AuthenticatedRequestContext {
    /// Hummingbird's per-request storage (logger, allocator, parameters).
    public var coreContext: CoreRequestContextStorage
    /// The verified caller, set by ``BearerAuthenticator``.
    public var user: AuthenticatedUser?

    /// Creates the context of one request.
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        user = nil
    }
}
