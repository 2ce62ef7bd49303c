import Foundation
import HTTPTypes
import Hummingbird
import ObjectStoreEngine
import SigV4
import Synchronization

/// How a long CompleteMultipartUpload keeps its connection alive, as S3 does: when
/// the completion takes longer than ``patience``, the 200 and the XML
/// declaration go out at once, then a space every ``interval``, then the result
/// document, or an `<Error>` document if the completion failed meanwhile.
///
/// Clients (botocore, the AWS CLI) read a 200 whose body is an `<Error>` as that error.
public struct CompletionKeepAlive: Sendable {
    /// How long the answer may wait for the completion before the 200 goes out.
    public var patience: Duration
    /// How often a space is sent while the completion runs.
    public var interval: Duration

    /// Creates the setting; the defaults answer early after 1 s and send a space every 5 s.
    public init(patience: Duration = .seconds(1), interval: Duration = .seconds(5)) {
        self.patience = patience
        self.interval = interval
    }
}

/// The outcome of a completion running in its own task, for the request to poll.
final class PendingCompletion: Sendable {
    private let outcome = Mutex<Result<ObjectInfo, any Error>?>(nil)

    /// The outcome, once there is one.
    var result: Result<ObjectInfo, any Error>? { outcome.withLock { $0 } }

    func finish(_ result: Result<ObjectInfo, any Error>) {
        outcome.withLock { $0 = result }
    }
}

extension S3Responder {
    // MARK: CreateMultipartUpload

    /// `POST /bucket/key?uploads`: starts an upload; the object's metadata comes from the headers.
    func createMultipartUpload(_ s3: S3Request, bucket: String, key: String) async throws -> Response {
        if let algorithm = s3.header("x-amz-checksum-algorithm"), ChecksumAlgorithm(headerOrAlgorithm: algorithm) == nil {
            throw S3Error(.invalidRequest, "The checksum algorithm \(algorithm) is not supported (crc32, crc32c, sha1, sha256).", resource: s3.resource)
        }
        let upload = try await engine.createMultipartUpload(bucket: bucket, key: key, metadata: try objectMetadata(s3),
                                                            serverSideEncryption: try requestedEncryption(s3))
        var x = XMLWriter()
        x.element("InitiateMultipartUploadResult", namespace: true) { x in
            x.leaf("Bucket", bucket)
            x.leaf("Key", key)
            x.leaf("UploadId", upload.uploadId)
        }
        var response = xmlResponse(x.document)
        addEncryptionHeader(upload.metadata, to: &response.headers)
        return response
    }

    // MARK: UploadPart / UploadPartCopy

    /// The `partNumber` query parameter, 1 to 10,000.
    func partNumber(_ s3: S3Request) throws -> Int {
        guard let text = s3.query["partNumber"], let number = Int(text), StorageEngine.partNumbers.contains(number) else {
            throw S3Error(.invalidArgument, "Part number must be an integer between 1 and 10000, inclusive", resource: s3.resource)
        }
        return number
    }

    /// `PUT /bucket/key?partNumber=N&uploadId=ID`: streams one part to disk, checking
    /// its length, signature and checksums as a PUT does.
    func uploadPart(_ s3: S3Request, auth: SigV4Authentication, bucket: String, key: String, uploadId: String,
                    body: RequestBody) async throws -> Response {
        let resource = s3.resource
        let number = try partNumber(s3)
        var incoming = try IncomingBody(s3, auth: auth, maximumSize: StorageEngine.maximumPartSize, what: "5 GiB for a part")
        // Refuses parts of unknown uploads before reading the body.
        let sink = try await engine.beginPartUpload(bucket: bucket, key: key, uploadId: uploadId, computesSHA256: incoming.needsSHA256)
        do {
            let received = try await incoming.receive(body, into: sink)
            let part = try await engine.commitPart(sink, bucket: bucket, key: key, uploadId: uploadId, partNumber: number,
                                                   checksumSHA256: received.checksumSHA256)
            var headers: HTTPFields = [.eTag: "\"\(part.etag)\""]
            for (algorithm, value) in received.checksums { headers[HTTPField.Name(algorithm.header)!] = value }
            if sink.isEncrypted { headers[Self.encryptionHeader] = ObjectMetadata.aes256 }
            return Response(status: .ok, headers: headers)
        } catch let error as SigV4Error {
            await engine.abort(sink)
            throw S3Error(error, resource: resource)
        } catch {
            await engine.abort(sink)
            throw error
        }
    }

    /// `PUT /bucket/key?partNumber=N&uploadId=ID` with `x-amz-copy-source`: a part
    /// from (a range of) an existing object.
    func uploadPartCopy(_ s3: S3Request, bucket: String, key: String, uploadId: String) async throws -> Response {
        let resource = s3.resource
        let number = try partNumber(s3)
        let (sourceBucket, sourceKey, sourceVersion) = try copySource(s3)
        let sourceInfo = try await copySourceObject(bucket: sourceBucket, key: sourceKey, versionId: sourceVersion)
        try checkCopyConditions(s3, info: sourceInfo, resource: resource)
        var range: ClosedRange<Int64>?
        if let text = s3.header("x-amz-copy-source-range") {
            let spec = text.trimmingCharacters(in: .whitespaces)
            let bounds = spec.hasPrefix("bytes=") ? spec.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false) : []
            guard bounds.count == 2, let first = Int64(bounds[0]), let last = Int64(bounds[1]), first >= 0, first <= last else {
                throw S3Error(.invalidArgument, "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy", resource: resource)
            }
            guard last < sourceInfo.size else {
                throw S3Error(.invalidRange, "The requested range is not satisfiable", resource: resource)
            }
            range = first...last
        }
        let part = try await engine.copyPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: number,
                                             fromBucket: sourceBucket, fromKey: sourceKey, fromVersionId: sourceVersion, range: range)
        var x = XMLWriter()
        x.element("CopyPartResult", namespace: true) { x in
            x.leaf("LastModified", AMZDate(part.lastModified).xmlTimestamp)
            x.leaf("ETag", "\"\(part.etag)\"")
        }
        var response = xmlResponse(x.document)
        if let version = sourceInfo.versionId { response.headers[.init("x-amz-copy-source-version-id")!] = version }
        return response
    }

    // MARK: ListParts

    /// `GET /bucket/key?uploadId=ID`, paginated by `part-number-marker` and `max-parts`.
    func listParts(_ s3: S3Request, bucket: String, key: String, uploadId: String) async throws -> Response {
        let marker = try nonNegativeInteger(s3, "part-number-marker") ?? 0
        let maxParts = try nonNegativeInteger(s3, "max-parts") ?? 1000
        let listing = try await engine.listParts(bucket: bucket, key: key, uploadId: uploadId, partNumberMarker: marker, maxParts: maxParts)
        var x = XMLWriter()
        x.element("ListPartsResult", namespace: true) { x in
            x.leaf("Bucket", bucket)
            x.leaf("Key", key)
            x.leaf("UploadId", uploadId)
            x.leaf("PartNumberMarker", String(marker))
            if let next = listing.nextPartNumberMarker ?? listing.parts.last?.partNumber {
                x.leaf("NextPartNumberMarker", String(next))
            }
            x.leaf("MaxParts", String(min(maxParts, 1000)))
            x.leaf("IsTruncated", listing.isTruncated ? "true" : "false")
            x.account("Initiator", id: ownerId)
            x.account("Owner", id: ownerId)
            x.leaf("StorageClass", "STANDARD")
            for part in listing.parts {
                x.element("Part") { x in
                    x.leaf("PartNumber", String(part.partNumber))
                    x.leaf("LastModified", AMZDate(part.lastModified).xmlTimestamp)
                    x.leaf("ETag", "\"\(part.etag)\"")
                    x.leaf("Size", String(part.size))
                    if let checksum = part.checksumSHA256 { x.leaf("ChecksumSHA256", checksum) }
                }
            }
        }
        return xmlResponse(x.document)
    }

    // MARK: CompleteMultipartUpload

    /// `POST /bucket/key?uploadId=ID` with the list of parts.
    ///
    /// The completion runs to its end even if the client goes away, so the upload is
    /// either completed or left as it was. See ``CompletionKeepAlive`` for long ones.
    func completeMultipartUpload(_ s3: S3Request, bucket: String, key: String, uploadId: String, body: RequestBody,
                                 requestId: String) async throws -> Response {
        let resource = s3.resource
        // 10,000 parts with ETags and checksums take about 1.5 MB of XML.
        let data = try await readXMLBody(body, resource: resource, limit: 8 << 20)
        try checkSmallBody(data, s3: s3)
        let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.", resource: resource)
        guard let root = try? XMLTree.parse(data), root.name == "CompleteMultipartUpload" else { throw malformed }
        var parts: [CompletedPart] = []
        for node in root.children(named: "Part") {
            guard let numberText = node.child("PartNumber")?.text.trimmingCharacters(in: .whitespacesAndNewlines),
                  let number = Int(numberText),
                  let etag = node.child("ETag")?.text.trimmingCharacters(in: .whitespacesAndNewlines)
            else { throw malformed }
            parts.append(CompletedPart(partNumber: number, etag: etag))
        }
        guard !parts.isEmpty, parts.count <= StorageEngine.partNumbers.upperBound else { throw malformed }
        let condition = try writeCondition(s3)
        let engine = engine, completed = parts
        let pending = PendingCompletion()
        Task {
            do {
                pending.finish(.success(
                    try await engine.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: completed, condition: condition)
                ))
            } catch {
                pending.finish(.failure(error))
            }
        }
        let host = s3.header("host") ?? "127.0.0.1"
        @Sendable func result(_ info: ObjectInfo) -> XMLWriter {
            var x = XMLWriter()
            x.element("CompleteMultipartUploadResult", namespace: true) { x in
                x.leaf("Location", "http://\(host)" + S3URIEncoding.encodePath("/\(bucket)/\(key)"))
                x.leaf("Bucket", bucket)
                x.leaf("Key", key)
                x.leaf("ETag", "\"\(info.etag)\"")
            }
            return x
        }
        // Checks of the list fail at once, with their own status; most completions finish in time too.
        let poll = Duration.milliseconds(20)
        var waited = Duration.zero
        while true {
            if let outcome = pending.result {
                let info = try outcome.get()
                var response = xmlResponse(result(info).document)
                if let version = info.versionId { response.headers[.init("x-amz-version-id")!] = version }
                addEncryptionHeader(info.metadata, to: &response.headers)
                return response
            }
            guard waited < completionKeepAlive.patience else { break }
            try await Task.sleep(for: poll)
            waited += poll
        }
        // A long completion: answer now, keep the connection busy, then send the outcome.
        let interval = completionKeepAlive.interval
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: XMLWriter.declaration))
            var sinceSpace = Duration.zero
            while pending.result == nil {
                try await Task.sleep(for: poll)
                sinceSpace += poll
                if sinceSpace >= interval {
                    try await writer.write(ByteBuffer(string: " "))
                    sinceSpace = .zero
                }
            }
            let text: String
            switch pending.result {
            case .success(let info)?:
                text = result(info).body
            case .failure(let error)?:
                text = Self.errorBody(error, resource: resource, requestId: requestId)
            case nil:
                text = ""
            }
            try await writer.write(ByteBuffer(string: text))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/xml"], body: body)
    }

    /// An `<Error>` element (without XML declaration) for a failure reported inside a 200.
    static func errorBody(_ error: any Error, resource: String, requestId: String) -> String {
        let s3Error: S3Error
        switch error {
        case let e as S3Error: s3Error = e
        case let e as StoreError: s3Error = S3Error(e, resource: resource)
        default: s3Error = S3Error(.internalError, "We encountered an internal error. Please try again.", resource: resource)
        }
        let document = s3Error.xml(requestId: requestId)
        return document.hasPrefix(XMLWriter.declaration) ? String(document.dropFirst(XMLWriter.declaration.count)) : document
    }

    // MARK: AbortMultipartUpload

    /// `DELETE /bucket/key?uploadId=ID`.
    func abortMultipartUpload(_ s3: S3Request, bucket: String, key: String, uploadId: String) async throws -> Response {
        try await engine.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
        return Response(status: .noContent)
    }

    // MARK: ListMultipartUploads

    /// `GET /bucket?uploads`, with `prefix`, `key-marker`, `upload-id-marker`, `max-uploads`.
    func listMultipartUploads(_ s3: S3Request, bucket: String) async throws -> Response {
        let prefix = s3.query["prefix"] ?? ""
        let keyMarker = s3.query["key-marker"].flatMap { $0.isEmpty ? nil : $0 }
        let uploadIdMarker = keyMarker == nil ? nil : s3.query["upload-id-marker"]
        let maxUploads = try nonNegativeInteger(s3, "max-uploads") ?? 1000
        if s3.query["delimiter"].map({ !$0.isEmpty }) == true {
            throw notImplemented("ListMultipartUploads with a delimiter", s3)
        }
        let listing = try await engine.listMultipartUploads(bucket: bucket, prefix: prefix, keyMarker: keyMarker,
                                                      uploadIdMarker: uploadIdMarker, maxUploads: maxUploads)
        let encodeURL = s3.query["encoding-type"] == "url"
        func text(_ value: String) -> String { encodeURL ? S3URIEncoding.encodePath(value) : value }
        var x = XMLWriter()
        x.element("ListMultipartUploadsResult", namespace: true) { x in
            x.leaf("Bucket", bucket)
            x.leaf("KeyMarker", text(keyMarker ?? ""))
            x.leaf("UploadIdMarker", uploadIdMarker ?? "")
            x.leaf("NextKeyMarker", text(listing.nextKeyMarker ?? ""))
            x.leaf("NextUploadIdMarker", listing.nextUploadIdMarker ?? "")
            x.leaf("Prefix", text(prefix))
            if encodeURL { x.leaf("EncodingType", "url") }
            x.leaf("MaxUploads", String(min(maxUploads, 1000)))
            x.leaf("IsTruncated", listing.isTruncated ? "true" : "false")
            for upload in listing.uploads {
                x.element("Upload") { x in
                    x.leaf("Key", text(upload.key))
                    x.leaf("UploadId", upload.uploadId)
                    x.account("Initiator", id: ownerId)
                    x.account("Owner", id: ownerId)
                    x.leaf("StorageClass", "STANDARD")
                    x.leaf("Initiated", AMZDate(upload.initiated).xmlTimestamp)
                }
            }
        }
        return xmlResponse(x.document)
    }

    // MARK: Helpers

    /// A non-negative integer query parameter, or `nil` when absent.
    func nonNegativeInteger(_ s3: S3Request, _ name: String) throws -> Int? {
        guard let text = s3.query[name] else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw S3Error(.invalidArgument, "Provided \(name) not an integer or within integer range", resource: s3.resource)
        }
        return value
    }
}
