import Foundation
import HTTPTypes
import Hummingbird
import ObjectStoreEngine
import SigV4

extension S3Responder {
    /// The most form-field bytes S3 reads before the file (`MaxPostPreDataLengthExceeded`).
    static let maximumPostPreData = 20 * 1024

    /// Whether the request is a browser form upload (`multipart/form-data`).
    static func isFormUpload(_ s3: S3Request) -> Bool {
        s3.header("content-type")?.lowercased().hasPrefix("multipart/form-data") == true
    }

    // MARK: POST object

    /// `POST /bucket` with a `multipart/form-data` body: a browser form upload.
    ///
    /// Reads the fields before the file, verifies the signed policy against them
    /// (signature, expiration, every condition, no uncovered field) with the
    /// `SigV4` verifier, then streams the file into a temporary file, enforcing
    /// `content-length-range` as it goes, and commits it like a PUT. Fields after
    /// the file are ignored, as S3 does. Answers as `success_action_redirect`
    /// or `success_action_status` (200, 201 with XML, default 204) asks.
    func postObject(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        let resource = s3.resource
        guard let boundary = s3.header("content-type").flatMap(FormDataReader.boundary(contentType:)) else {
            throw S3Error(.malformedPOSTRequest, "The body of your POST request is not well-formed multipart/form-data.", resource: resource)
        }
        _ = try await engine.bucket(bucket)
        var reader = FormDataReader(body: body, boundary: boundary)
        do {
            var fields: [(String, String)] = []
            var preData = 0
            var filePart: FormDataReader.Part?
            while let part = try await reader.nextPart() {
                if part.name.lowercased() == "file" {
                    filePart = part
                    break
                }
                let value = try await reader.readPart(limit: Self.maximumPostPreData)
                preData += part.name.utf8.count + value.count
                guard preData <= Self.maximumPostPreData else { throw FormDataReader.Failure.tooLarge }
                fields.append((part.name, String(decoding: value, as: UTF8.self)))
            }
            guard let filePart else {
                throw S3Error(.invalidArgument, "POST requires exactly one file upload per request.", resource: resource)
            }
            let response = try await storeFormUpload(s3, bucket: bucket, fields: fields, file: filePart, reader: &reader)
            try await reader.drain()
            return response
        } catch let failure as FormDataReader.Failure {
            switch failure {
            case .tooLarge:
                throw S3Error(.maxPostPreDataLengthExceeded, "Your POST request fields preceding the upload file were too large.", resource: resource)
            case .malformed(let why):
                throw S3Error(.malformedPOSTRequest, "The body of your POST request is not well-formed multipart/form-data: \(why)", resource: resource)
            }
        } catch let error as SigV4Error {
            throw S3Error(error, resource: resource)
        }
    }

    /// Verifies the form's policy and streams its file into the bucket.
    private func storeFormUpload(_ s3: S3Request, bucket: String, fields: [(String, String)], file: FormDataReader.Part,
                                 reader: inout FormDataReader) async throws -> Response {
        let resource = s3.resource
        guard let authorization = try verifier.verifyPOST(fields: fields, bucket: bucket, now: clock()) else {
            throw S3Error(.accessDenied, "Access Denied", resource: resource)
        }
        var byName: [String: String] = [:]
        for (name, value) in fields { byName[name.lowercased()] = value }
        guard var key = byName["key"], !key.isEmpty else {
            throw S3Error(.invalidArgument, "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.", resource: resource)
        }
        if key.contains("${filename}") {
            // Browsers send a bare name; some older ones a full path, of which S3 keeps the last component.
            let filename = (file.filename ?? "").split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
            key = key.replacingOccurrences(of: "${filename}", with: filename)
        }
        let objectResource = "/\(bucket)/\(key)"

        var metadata = ObjectMetadata()
        metadata.contentType = byName["content-type"] ?? "binary/octet-stream"
        metadata.cacheControl = byName["cache-control"]
        metadata.contentDisposition = byName["content-disposition"]
        metadata.contentEncoding = byName["content-encoding"]
        metadata.expires = byName["expires"]
        var userSize = 0
        for (name, value) in byName where name.hasPrefix("x-amz-meta-") {
            let metaKey = String(name.dropFirst("x-amz-meta-".count))
            userSize += metaKey.utf8.count + value.utf8.count
            metadata.userMetadata[metaKey] = value
        }
        guard userSize <= 2048 else {
            throw S3Error(.invalidArgument, "Your metadata headers exceed the maximum allowed metadata size (2 KB).", resource: objectResource)
        }

        let range = authorization.contentLengthRange
        let maximum = min(Int64(range?.upperBound ?? Int.max), Self.maximumPutSize)
        let encryption = byName["x-amz-server-side-encryption"]
        guard encryption == nil || encryption == ObjectMetadata.aes256 else {
            throw S3Error(.invalidArgument, "The encryption method specified is not supported: only AES256 (SSE-S3) is.", resource: objectResource)
        }
        let sink = try await engine.beginUpload(bucket: bucket, serverSideEncryption: encryption != nil)
        do {
            var size: Int64 = 0
            try await reader.streamPart({ bytes in
                size += Int64(bytes.count)
                guard size <= maximum else {
                    var error = S3Error(.entityTooLarge, "Your proposed upload exceeds the maximum allowed size", resource: objectResource)
                    error.extra = [("MaxSizeAllowed", String(maximum))]
                    throw error
                }
                try sink.append(bytes)
            }, afterEach: { try await sink.drain() })
            if let range, size < Int64(range.lowerBound) {
                var error = S3Error(.entityTooSmall, "Your proposed upload is smaller than the minimum allowed size", resource: objectResource)
                error.extra = [("ProposedSize", String(size)), ("MinSizeAllowed", String(range.lowerBound))]
                throw error
            }
            let info = try await engine.commit(sink, bucket: bucket, key: key, metadata: metadata, eventName: "ObjectCreated:Post")
            return formResponse(s3, info: info, fields: byName)
        } catch {
            await engine.abort(sink)
            throw error
        }
    }

    /// The answer to a stored form upload, as `success_action_redirect` / `success_action_status` ask.
    func formResponse(_ s3: S3Request, info: ObjectInfo, fields: [String: String]) -> Response {
        let host = s3.header("host") ?? "127.0.0.1"
        let location = "http://\(host)" + S3URIEncoding.encodePath("/\(info.bucket)/\(info.key)")
        let etag = "\"\(info.etag)\""
        var headers: HTTPFields = [.eTag: etag, .location: location]
        if let version = info.versionId { headers[.init("x-amz-version-id")!] = version }
        addEncryptionHeader(info.metadata, to: &headers)
        if let redirect = fields["success_action_redirect"] ?? fields["redirect"],
           let url = URL(string: redirect), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" {
            let query = "bucket=\(S3URIEncoding.encodeQueryComponent(info.bucket))"
                + "&key=\(S3URIEncoding.encodeQueryComponent(info.key))"
                + "&etag=\(S3URIEncoding.encodeQueryComponent(etag))"
            headers[.location] = redirect + (redirect.contains("?") ? "&" : "?") + query
            return Response(status: .seeOther, headers: headers)
        }
        switch fields["success_action_status"] {
        case "200":
            return Response(status: .ok, headers: headers)
        case "201":
            var x = XMLWriter()
            x.element("PostResponse") { x in
                x.leaf("Location", location)
                x.leaf("Bucket", info.bucket)
                x.leaf("Key", info.key)
                x.leaf("ETag", etag)
            }
            headers[.contentType] = "application/xml"
            return Response(status: .created, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: x.document)))
        default:
            return Response(status: .noContent, headers: headers)
        }
    }
}
