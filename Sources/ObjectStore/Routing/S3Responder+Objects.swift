import Crypto
import Foundation
import HoistSupport
import HTTPTypes
import Hummingbird
import ObjectStoreEngine
import SigV4

extension S3Responder {
    /// The condition a write's `If-None-Match: *` or `If-Match: <etag>` header sets.
    ///
    /// - Parameter operation: Named in the error (`PUT`), or `nil`.
    /// - Throws: `NotImplemented` for an `If-None-Match` other than `*`.
    func writeCondition(_ s3: S3Request, operation: String? = nil) throws -> WriteCondition {
        if let match = s3.header("if-none-match") {
            guard match.trimmingCharacters(in: .whitespaces) == "*" else {
                let on = operation.map { " on \($0)" } ?? ""
                throw S3Error(.notImplemented, "If-None-Match\(on) supports only '*'.", resource: s3.resource)
            }
            return .ifNoneMatchAny
        }
        if let match = s3.header("if-match") { return .ifMatch(ETagText.unquote(match)) }
        return .none
    }

    // MARK: PutObject

    /// Streams the body to a temporary file, checks every digest the client
    /// promised, and only then commits; the 200 goes out after the commit.
    func putObject(_ s3: S3Request, auth: SigV4Authentication, bucket: String, key: String, body: RequestBody) async throws -> Response {
        let resource = s3.resource
        var incoming = try IncomingBody(s3, auth: auth, maximumSize: Self.maximumPutSize, what: "5 GiB for a single PUT")
        let metadata = try objectMetadata(s3)
        let condition = try writeCondition(s3, operation: "PUT")

        let sink = try await engine.beginUpload(bucket: bucket, serverSideEncryption: try requestedEncryption(s3))
        do {
            let received = try await incoming.receive(body, into: sink)
            var finalMetadata = metadata
            if let checksum = received.checksumSHA256 { finalMetadata.checksumSHA256 = checksum }
            let info = try await engine.commit(sink, bucket: bucket, key: key, metadata: finalMetadata, condition: condition)
            var headers: HTTPFields = [.eTag: "\"\(info.etag)\""]
            if let version = info.versionId { headers[.init("x-amz-version-id")!] = version }
            for (algorithm, value) in received.checksums { headers[HTTPField.Name(algorithm.header)!] = value }
            addEncryptionHeader(info.metadata, to: &headers)
            return Response(status: .ok, headers: headers)
        } catch let error as SigV4Error {
            await engine.abort(sink)
            throw S3Error(error, resource: resource)
        } catch {
            await engine.abort(sink)
            throw error
        }
    }

    /// Standard and user metadata from a request's headers.
    func objectMetadata(_ s3: S3Request) throws -> ObjectMetadata {
        var metadata = ObjectMetadata()
        metadata.contentType = s3.header("content-type") ?? "binary/octet-stream"
        metadata.cacheControl = s3.header("cache-control")
        metadata.contentDisposition = s3.header("content-disposition")
        if let encoding = s3.header("content-encoding") {
            // aws-chunked describes the transfer, not the object: it is removed, the rest kept as sent.
            let codings = encoding.split(separator: ",", omittingEmptySubsequences: false)
            if codings.contains(where: { $0.trimmingCharacters(in: .whitespaces).lowercased() == "aws-chunked" }) {
                let kept = codings.map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && $0.lowercased() != "aws-chunked" }
                metadata.contentEncoding = kept.isEmpty ? nil : kept.joined(separator: ", ")
            } else {
                metadata.contentEncoding = encoding
            }
        }
        metadata.contentLanguage = s3.header("content-language")
        metadata.expires = s3.header("expires")
        var userSize = 0
        for (name, value) in s3.headers {
            let lower = name.lowercased()
            guard lower.hasPrefix("x-amz-meta-") else { continue }
            let key = String(lower.dropFirst("x-amz-meta-".count))
            userSize += key.utf8.count + value.utf8.count
            if let existing = metadata.userMetadata[key] {
                metadata.userMetadata[key] = existing + "," + value
            } else {
                metadata.userMetadata[key] = value
            }
        }
        guard userSize <= 2048 else {
            throw S3Error(.invalidArgument, "Your metadata headers exceed the maximum allowed metadata size (2 KB).", resource: s3.resource)
        }
        return metadata
    }

    // MARK: GetObject / HeadObject

    func getObject(_ s3: S3Request, bucket: String, key: String, head: Bool) async throws -> Response {
        let resource = s3.resource
        let (info, reader) = try await engine.open(bucket: bucket, key: key, versionId: try versionIdParameter(s3))
        var keepOpen = false
        defer { if !keepOpen { reader.close() } }

        var headers = objectHeaders(info, s3: s3)
        if let version = info.versionId { headers[.init("x-amz-version-id")!] = version }
        try checkConditions(s3, info: info, headers: headers, resource: resource)

        var start: Int64 = 0
        var end: Int64 = info.size  // exclusive
        var status = HTTPResponse.Status.ok
        if let part = try partOfObject(s3, info: info, reader: reader) {
            // `partNumber=N`: that part of a multipart object (206, with the part count SDKs read
            // as PartsCount); part 1 of any other object is all of it.
            if let count = part.count {
                start = part.range.lowerBound
                end = part.range.upperBound
                status = .partialContent
                headers[.contentRange] = "bytes \(start)-\(max(start, end - 1))/\(info.size)"
                headers[.init("x-amz-mp-parts-count")!] = String(count)
            }
        } else if let rangeHeader = s3.header("range"), let range = try Self.parseRange(rangeHeader, size: info.size, resource: resource) {
            start = range.lowerBound
            end = range.upperBound + 1
            status = .partialContent
            headers[.contentRange] = "bytes \(start)-\(end - 1)/\(info.size)"
        }
        let length = end - start
        headers[.contentLength] = String(length)
        if head || length == 0 {
            return Response(status: status, headers: headers, body: ResponseBody(contentLength: head ? nil : 0) { writer in
                try await writer.finish(nil)
            })
        }
        // The first piece is read before the status goes out: a file that fails its checks (an
        // encrypted chunk altered on disk) is a 500 InternalError, not a 200 cut short.
        let chunkSize = 256 * 1024
        let firstPiece = try await reader.read(offset: start, count: Int(min(Int64(chunkSize), length)))
        keepOpen = true
        let first = start + Int64(firstPiece.count), last = end
        let body = ResponseBody(contentLength: Int(length)) { writer in
            // Read on the thread pool, piece by piece, one piece ahead of the client: the next read
            // (and, for an encrypted object, its decryption) runs while this piece is written.
            @Sendable func readAhead(_ offset: Int64) -> Task<[UInt8], any Error>? {
                guard offset < last else { return nil }
                return Task { try await reader.read(offset: offset, count: Int(min(Int64(chunkSize), last - offset))) }
            }
            var offset = first
            var next = readAhead(offset)
            defer {
                next?.cancel()
                reader.close()
            }
            if !firstPiece.isEmpty { try await writer.write(ByteBuffer(bytes: firstPiece)) }
            while let pending = next {
                let bytes = try await pending.value
                if bytes.isEmpty { break }
                offset += Int64(bytes.count)
                next = readAhead(offset)
                try await writer.write(ByteBuffer(bytes: bytes))
            }
            next = nil
            try await writer.finish(nil)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// The part a GET or HEAD with `partNumber` asks for: its bytes, and the object's part count
    /// when it was completed from a multipart upload (`nil` count: the whole object, part 1 of one
    /// that was not). `nil` without `partNumber`.
    ///
    /// - Throws: `InvalidArgument` for a part number outside 1–10,000, `InvalidRequest` with a
    ///   `Range` header too, `InvalidPart` past the last part.
    func partOfObject(_ s3: S3Request, info: ObjectInfo, reader: ObjectReader) throws -> (range: Range<Int64>, count: Int?)? {
        guard s3.query["partNumber"] != nil else { return nil }
        let number = try partNumber(s3)
        guard s3.header("range") == nil else {
            throw S3Error(.invalidRequest, "Cannot specify both Range header and partNumber query parameter.", resource: s3.resource)
        }
        let multipart = info.etag.contains("-")
        if multipart, let range = reader.segmentRange(number) {
            return (range, reader.segmentCount)
        }
        if !multipart, number == 1 {
            return (0..<info.size, nil)
        }
        throw S3Error(.invalidPart, "The requested partnumber is not satisfiable.", resource: s3.resource)
    }

    /// The object's headers: ETag, Last-Modified, type, length, metadata; with
    /// the `response-*` query overrides of a (pre-signed) GET applied.
    func objectHeaders(_ info: ObjectInfo, s3: S3Request) -> HTTPFields {
        var headers: HTTPFields = [:]
        headers[.eTag] = "\"\(info.etag)\""
        headers[.lastModified] = AMZDate(info.lastModified).httpDateString
        headers[.acceptRanges] = "bytes"
        let m = info.metadata
        let standard: [(HTTPField.Name, String?, String)] = [
            (.contentType, m.contentType, "response-content-type"),
            (.cacheControl, m.cacheControl, "response-cache-control"),
            (.contentDisposition, m.contentDisposition, "response-content-disposition"),
            (.contentEncoding, m.contentEncoding, "response-content-encoding"),
            (.contentLanguage, m.contentLanguage, "response-content-language"),
            (.expires, m.expires, "response-expires"),
        ]
        for (name, stored, override) in standard {
            if let value = s3.query[override] ?? stored { headers[name] = value }
        }
        for (key, value) in m.userMetadata.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name("x-amz-meta-\(key)") { headers[name] = value }
        }
        if let checksum = m.checksumSHA256, s3.header("x-amz-checksum-mode")?.uppercased() == "ENABLED" {
            headers[HTTPField.Name("x-amz-checksum-sha256")!] = checksum
        }
        addEncryptionHeader(m, to: &headers)
        return headers
    }

    /// RFC 7232 conditions, in S3's order of precedence.
    func checkConditions(_ s3: S3Request, info: ObjectInfo, headers: HTTPFields, resource: String) throws {
        let lastModified = AMZDate(info.lastModified)
        func matches(_ list: String) -> Bool {
            list.split(separator: ",").contains { item in
                let tag = item.trimmingCharacters(in: .whitespaces)
                return tag == "*" || ETagText.unquote(tag) == info.etag
            }
        }
        let ifMatch = s3.header("if-match")
        let ifNoneMatch = s3.header("if-none-match")
        if let ifMatch, !matches(ifMatch) {
            throw S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold", resource: resource)
        }
        if ifMatch == nil, let text = s3.header("if-unmodified-since"), let since = AMZDate(httpDate: text), lastModified > since {
            throw S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold", resource: resource)
        }
        if let ifNoneMatch, matches(ifNoneMatch) {
            var error = S3Error(.notModified, "Not Modified", resource: resource)
            error.headers = [("ETag", "\"\(info.etag)\""), ("Last-Modified", lastModified.httpDateString)]
            throw error
        }
        if ifNoneMatch == nil, let text = s3.header("if-modified-since"), let since = AMZDate(httpDate: text), lastModified <= since {
            var error = S3Error(.notModified, "Not Modified", resource: resource)
            error.headers = [("ETag", "\"\(info.etag)\""), ("Last-Modified", lastModified.httpDateString)]
            throw error
        }
    }

    /// Parses a single `bytes=` range. Returns `nil` to serve the whole object
    /// (an unparsable or multi-range header, as S3 does); throws `InvalidRange`
    /// when the range cannot be satisfied.
    static func parseRange(_ header: String, size: Int64, resource: String) throws -> ClosedRange<Int64>? {
        let text = header.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("bytes="), !text.contains(",") else { return nil }
        let spec = text.dropFirst("bytes=".count)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let first = spec[..<dash].trimmingCharacters(in: .whitespaces)
        let last = spec[spec.index(after: dash)...].trimmingCharacters(in: .whitespaces)
        func unsatisfiable() -> S3Error {
            var error = S3Error(.invalidRange, "The requested range is not satisfiable", resource: resource)
            error.extra = [("RangeRequested", text), ("ActualObjectSize", String(size))]
            error.headers = [("Content-Range", "bytes */\(size)")]
            return error
        }
        if first.isEmpty {
            guard let suffix = Int64(last) else { return nil }
            guard suffix > 0, size > 0 else { throw unsatisfiable() }
            return max(0, size - suffix)...(size - 1)
        }
        guard let from = Int64(first) else { return nil }
        let to: Int64
        if last.isEmpty {
            to = size - 1
        } else {
            guard let parsed = Int64(last), parsed >= from else { return nil }
            to = min(parsed, size - 1)
        }
        guard from < size else { throw unsatisfiable() }
        return from...to
    }

    // MARK: DeleteObject

    func deleteObject(_ s3: S3Request, bucket: String, key: String) async throws -> Response {
        let outcome = try await engine.delete(bucket: bucket, key: key, versionId: try versionIdParameter(s3))
        var headers: HTTPFields = [:]
        if let version = outcome.versionId { headers[.init("x-amz-version-id")!] = version }
        if outcome.isDeleteMarker { headers[.init("x-amz-delete-marker")!] = "true" }
        return Response(status: .noContent, headers: headers)
    }

    /// The `versionId` query parameter; `InvalidArgument` when it is empty or not one of this store's ids.
    func versionIdParameter(_ s3: S3Request) throws -> String? {
        guard let version = s3.query["versionId"] else { return nil }
        guard StorageEngine.isValidVersionId(version) else {
            throw S3Error(.invalidArgument, "Invalid version id specified", resource: s3.resource)
        }
        return version
    }

    // MARK: CopyObject

    func copyObject(_ s3: S3Request, bucket: String, key: String) async throws -> Response {
        let resource = s3.resource
        let (sourceBucket, sourceKey, sourceVersion) = try copySource(s3)
        let directive = s3.header("x-amz-metadata-directive")?.uppercased() ?? "COPY"
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error(.invalidArgument, "Unknown metadata directive.", resource: resource)
        }
        if sourceBucket == bucket && sourceKey == key && sourceVersion == nil && directive == "COPY" {
            throw S3Error(.invalidRequest, "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.", resource: resource)
        }
        let sourceInfo = try await copySourceObject(bucket: sourceBucket, key: sourceKey, versionId: sourceVersion)
        try checkCopyConditions(s3, info: sourceInfo, resource: resource)
        let metadata = directive == "REPLACE" ? try objectMetadata(s3) : nil
        let info = try await engine.copy(fromBucket: sourceBucket, fromKey: sourceKey, fromVersionId: sourceVersion,
                                         toBucket: bucket, toKey: key, metadata: metadata,
                                         serverSideEncryption: try requestedEncryption(s3))
        var x = XMLWriter()
        x.element("CopyObjectResult", namespace: true) { x in
            x.leaf("LastModified", AMZDate(info.lastModified).xmlTimestamp)
            x.leaf("ETag", "\"\(info.etag)\"")
        }
        var response = xmlResponse(x.document)
        if let version = info.versionId { response.headers[.init("x-amz-version-id")!] = version }
        if let version = sourceInfo.versionId { response.headers[.init("x-amz-copy-source-version-id")!] = version }
        addEncryptionHeader(info.metadata, to: &response.headers)
        return response
    }

    /// The source of a copy, for its conditions: a delete marker named by its version is an
    /// `InvalidRequest` (S3: 400), the latest being a marker `NoSuchKey`.
    func copySourceObject(bucket: String, key: String, versionId: String?) async throws -> ObjectInfo {
        do {
            return try await engine.head(bucket: bucket, key: key, versionId: versionId)
        } catch let error where error.code == .methodNotAllowed {
            throw S3Error(.invalidRequest, "The source of a copy request may not specifically refer to a delete marker by version id.")
        }
    }

    /// The bucket, key and version named by `x-amz-copy-source` (`bucket/key`, percent-encoded, optionally `?versionId=…`).
    func copySource(_ s3: S3Request) throws -> (bucket: String, key: String, versionId: String?) {
        let resource = s3.resource
        guard var source = s3.header("x-amz-copy-source") else {
            throw S3Error(.invalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", resource: resource)
        }
        var versionId: String?
        if let question = source.firstIndex(of: "?") {
            let query = source[source.index(after: question)...]
            for pair in query.split(separator: "&") where pair.hasPrefix("versionId=") {
                let value = String(pair.dropFirst("versionId=".count))
                guard StorageEngine.isValidVersionId(value) else {
                    throw S3Error(.invalidArgument, "Invalid version id specified", resource: resource)
                }
                versionId = value
            }
            source = String(source[..<question])
        }
        guard let decoded = S3URIEncoding.decode(source) else {
            throw S3Error(.invalidArgument, "Copy Source is not valid percent-encoded UTF-8.", resource: resource)
        }
        var path = Substring(decoded)
        while path.first == "/" { path = path.dropFirst() }
        guard let slash = path.firstIndex(of: "/"), path.index(after: slash) < path.endIndex else {
            throw S3Error(.invalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey", resource: resource)
        }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]), versionId)
    }

    func checkCopyConditions(_ s3: S3Request, info: ObjectInfo, resource: String) throws {
        let failed = S3Error(.preconditionFailed, "At least one of the pre-conditions you specified did not hold", resource: resource)
        let lastModified = AMZDate(info.lastModified)
        if let match = s3.header("x-amz-copy-source-if-match"), ETagText.unquote(match) != info.etag { throw failed }
        if let match = s3.header("x-amz-copy-source-if-none-match"), ETagText.unquote(match) == info.etag || match == "*" { throw failed }
        if let text = s3.header("x-amz-copy-source-if-unmodified-since"), let since = AMZDate(httpDate: text), lastModified > since { throw failed }
        if let text = s3.header("x-amz-copy-source-if-modified-since"), let since = AMZDate(httpDate: text), lastModified <= since { throw failed }
    }
}
