import HTTPTypes
import Hummingbird

/// CORS for the API, so a web app on another origin (listed in `HOIST_CORS_ORIGINS`, the same list
/// the bucket's rules allow) can ask for URLs and import `/hoist-upload.js`.
///
/// Only listed origins get `Access-Control-Allow-Origin` (never `*`); others get no CORS headers,
/// so the browser refuses them. Preflights (`OPTIONS` with `Access-Control-Request-Method`) are
/// answered here, before routing. Tokens travel in `Authorization`, not cookies: no credentials.
///
/// ```swift
/// router.add(middleware: APICORSMiddleware(origins: ["https://app.example.com"]))
/// ```
struct APICORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: Set<String>

    /// Creates the middleware for `origins` (`*` is ignored).
    init(origins: [String]) {
        self.origins = Set(origins.filter { $0 != "*" })
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers.value(of: .origin) else { return try await next(request, context) }
        let allowed = origins.contains(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers: HTTPFields = [.vary: "Origin"]
            guard allowed else { return Response(status: .forbidden, headers: headers) }
            headers[.accessControlAllowOrigin] = origin
            headers[.accessControlAllowMethods] = "GET, POST, DELETE"
            headers[.accessControlAllowHeaders] = "Authorization, Content-Type"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Errors must carry the headers too, or the browser hides their JSON body from the page.
            response = try error.response(from: request, context: context)
        }
        response.headers[.vary] = "Origin"
        if allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = "Retry-After, WWW-Authenticate"
        }
        return response
    }
}
