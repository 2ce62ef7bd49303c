import Auth
import Foundation
import HTTPTypes
import Hummingbird

extension UploadsAPI {
    /// The multipart (resumable) upload routes, behind the bearer authenticator of `group`:
    ///
    /// - `POST /multipart-uploads`: start one (type, size, article checked as for `POST /upload-url`);
    /// - `POST /multipart-uploads/{uploadId}/parts`: pre-signed UploadPart URLs for a batch of parts;
    /// - `GET /multipart-uploads/{uploadId}/parts`: the parts storage holds, and those missing;
    /// - `POST /multipart-uploads/{uploadId}/complete`: complete from storage's list of parts (retry-safe);
    /// - `DELETE /multipart-uploads/{uploadId}`: abort.
    func addMultipartRoutes<Context: AuthenticatedRequestContext>(to group: RouterGroup<Context>) {
        group.post("multipart-uploads") { request, context in
            let body = try await Self.body(of: request, upTo: UploadURLRequest.maximumBody)
            return try APIJSON.response(await self.service.createMultipartUpload(for: context.requireUser(), body: body))
        }
        group.post("multipart-uploads/:uploadId/parts") { request, context in
            let body = try await Self.body(of: request, upTo: SignPartsRequest.maximumBody)
            return try APIJSON.response(await self.service.signParts(for: context.requireUser(), uploadId: Self.uploadId(context),
                                                                     body: body))
        }
        group.get("multipart-uploads/:uploadId/parts") { _, context in
            try APIJSON.response(await self.service.listParts(for: context.requireUser(), uploadId: Self.uploadId(context)))
        }
        group.post("multipart-uploads/:uploadId/complete") { _, context in
            try APIJSON.response(await self.service.completeMultipartUpload(for: context.requireUser(), uploadId: Self.uploadId(context)))
        }
        group.delete("multipart-uploads/:uploadId") { _, context in
            try await self.service.abortMultipartUpload(for: context.requireUser(), uploadId: Self.uploadId(context))
            return Response(status: .noContent, headers: [.cacheControl: "no-store"])
        }
    }

    /// The `uploadId` path parameter, percent-decoded.
    static func uploadId<Context: RequestContext>(_ context: Context) -> String {
        let raw = context.parameters.get("uploadId") ?? ""
        return raw.contains("%") ? (raw.removingPercentEncoding ?? raw) : raw
    }

    /// A small JSON body, at most `limit` bytes (413 `payload_too_large` beyond).
    static func body(of request: Request, upTo limit: Int) async throws(APIError) -> [UInt8] {
        let tooLarge = APIError(.contentTooLarge, "payload_too_large", "The request body is over \(limit / 1024) KiB.")
        if let length = request.headers.value(of: .contentLength).flatMap(Int.init), length > limit { throw tooLarge }
        var request = request
        do {
            return Array(try await request.collectBody(upTo: limit).readableBytesView)
        } catch {
            throw tooLarge
        }
    }
}
