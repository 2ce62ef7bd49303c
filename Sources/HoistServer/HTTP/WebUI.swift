import HTTPTypes
import Hummingbird

/// The browser experience: the upload page at `/` and the client module at `/hoist-upload.js`.
///
/// Both are compiled in (``WebAssets``, SwiftPM resources from `Sources/HoistServer/Web/`), so an
/// installed binary serves them without a resource bundle. The page talks to the API of its own origin and
/// PUTs straight to storage, which must allow the page's origin in the bucket's CORS rules.
///
/// ```swift
/// let router = Router()
/// WebUI.addRoutes(to: router)
/// ```
enum WebUI {
    /// Adds `GET /`, `GET /index.html` and `GET /hoist-upload.js`.
    static func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        let page = response(WebAssets.indexHTML, type: "text/html; charset=utf-8")
        let script = response(WebAssets.uploadJS, type: "text/javascript; charset=utf-8")
        router.get("/") { _, _ in page }
        router.get("index.html") { _, _ in page }
        router.get("hoist-upload.js") { _, _ in script }
    }

    /// A response with the bytes, revalidated by browsers on every load (a new binary may serve new text).
    static func response(_ bytes: [UInt8], type: String) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "no-cache"]
        for (name, value) in [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer")] {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
