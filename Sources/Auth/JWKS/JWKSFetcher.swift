import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Fetches an issuer's JWKS document over HTTP(S).
struct JWKSFetcher: Sendable {
    /// Key sets larger than this are refused (Cognito's is about 1 KiB).
    static let maximumDocumentSize = 512 * 1024

    let url: String
    let timeout: Duration
    let httpClient: HTTPClient

    /// Fetches the document.
    ///
    /// - Returns: The response body of a `200 OK`.
    /// - Throws: A ``JWKSFetchError`` on a transport error, a timeout, another status or an oversized body.
    func fetch(logger: Logger) async throws(JWKSFetchError) -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json, application/jwk-set+json")
        let deadline = NIODeadline.now() + Self.timeAmount(timeout)
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, deadline: deadline, logger: logger)
        } catch {
            throw JWKSFetchError(reason: "request failed: \(error)")
        }
        guard response.status == .ok else {
            throw JWKSFetchError(reason: "status \(response.status.code)")
        }
        do {
            let body = try await response.body.collect(upTo: Self.maximumDocumentSize)
            return Data(body.readableBytesView)
        } catch {
            throw JWKSFetchError(reason: "reading the body failed: \(error)")
        }
    }
}

extension JWKSFetcher {
    /// `duration` as NIO's `TimeAmount`, clamped to [0, one day] so the deadline arithmetic cannot overflow.
    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return .zero }
        guard seconds < 86_400 else { return .seconds(86_400) }
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// Why a key-set fetch failed; for logs only (clients see ``AuthError/Code/jwksUnavailable``).
struct JWKSFetchError: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
