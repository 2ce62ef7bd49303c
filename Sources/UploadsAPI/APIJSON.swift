import Foundation
import HTTPTypes
import Hummingbird

/// The one way the API writes JSON responses: sorted keys, unescaped slashes, ISO 8601
/// dates, `Content-Type: application/json` and `Cache-Control: no-store` (answers hold
/// signed URLs and tokens, which no cache should keep).
public enum APIJSON {
    /// The headers of every JSON response.
    public static let headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]

    /// `value` encoded as the response body.
    ///
    /// - Parameters:
    ///   - value: what to encode.
    ///   - status: the response status (default 200).
    ///   - extraHeaders: headers added to ``headers`` (e.g. `Retry-After`).
    /// - Throws: if `value` cannot be encoded.
    public static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok,
                                extraHeaders: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return response(bytes: ByteBuffer(bytes: try encoder.encode(value)), status: status, extraHeaders: extraHeaders)
    }

    /// A response whose JSON text is already written (the hot path's hand-written JSON).
    public static func response(bytes: ByteBuffer, status: HTTPResponse.Status = .ok, extraHeaders: HTTPFields = [:]) -> Response {
        var fields = headers
        fields.append(contentsOf: extraHeaders)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: bytes))
    }
}
