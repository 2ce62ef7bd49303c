import Crypto
import Events
import Foundation
import Hummingbird
import ObjectStoreEngine
import SigV4

extension S3Responder {
    /// Reads a small XML request body (CORS rules, multi-object delete, the parts of a completion).
    func readXMLBody(_ body: RequestBody, resource: String, limit: Int = Self.maximumXMLBody) async throws -> Data {
        var collected = Data()
        for try await buffer in body {
            collected.append(contentsOf: buffer.readableBytesView)
            guard collected.count <= limit else {
                throw S3Error(.malformedXML, "The XML you provided is larger than \(limit) bytes.", resource: resource)
            }
        }
        return collected
    }

    /// S3's `MalformedXML` for a configuration document.
    func malformedXML(_ s3: S3Request) -> S3Error {
        S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.",
                resource: s3.resource)
    }

    /// A configuration document's body read whole, its digests checked, and parsed; its root must be `root`.
    ///
    /// - Throws: `MalformedXML` for bytes that are not XML or another root; the digest errors of ``checkSmallBody(_:s3:)``.
    func readConfiguration(_ body: RequestBody, s3: S3Request, root: String) async throws -> XMLTree {
        let data = try await readXMLBody(body, resource: s3.resource)
        try checkSmallBody(data, s3: s3)
        guard let tree = try? XMLTree.parse(data), tree.name == root else { throw malformedXML(s3) }
        return tree
    }

    /// Checks `Content-MD5` (and `x-amz-content-sha256`) of a small body that has been read whole.
    func checkSmallBody(_ data: Data, s3: S3Request) throws {
        if let md5 = s3.header("content-md5") {
            guard let expected = Data(base64Encoded: md5.trimmingCharacters(in: .whitespaces)), expected.count == 16 else {
                throw S3Error(.invalidDigest, "The Content-MD5 you specified was invalid.", resource: s3.resource)
            }
            guard Data(Insecure.MD5.hash(data: data)) == expected else {
                throw S3Error(.badDigest, "The Content-MD5 you specified did not match what we received.", resource: s3.resource)
            }
        }
        if let claimed = s3.header("x-amz-content-sha256"), claimed.count == 64,
           claimed.lowercased() != PayloadHash.sha256(of: data) {
            throw S3Error(.xAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.", resource: s3.resource)
        }
    }

    // MARK: Buckets

    func listBuckets() async throws -> Response {
        let buckets = try await engine.listBuckets()
        var x = XMLWriter()
        x.element("ListAllMyBucketsResult", namespace: true) { x in
            x.account("Owner", id: ownerId)
            x.element("Buckets") { x in
                for bucket in buckets {
                    x.element("Bucket") { x in
                        x.leaf("Name", bucket.name)
                        x.leaf("CreationDate", AMZDate(bucket.creationDate).xmlTimestamp)
                    }
                }
            }
        }
        return xmlResponse(x.document)
    }

    func createBucket(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        let data = try await readXMLBody(body, resource: s3.resource)
        try checkSmallBody(data, s3: s3)
        if !data.isEmpty {
            let root = try XMLTree.parse(data)
            guard root.name == "CreateBucketConfiguration" else {
                throw S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.", resource: s3.resource)
            }
            if let constraint = root.child("LocationConstraint")?.text.trimmingCharacters(in: .whitespacesAndNewlines),
               !constraint.isEmpty, constraint != region {
                throw S3Error(.illegalLocationConstraint, "The \(constraint) location constraint is incompatible for the region specific endpoint this request was sent to.", resource: s3.resource)
            }
        }
        do {
            try await engine.createBucket(bucket)
        } catch {
            // S3's legacy behaviour in us-east-1: creating a bucket you already own succeeds and
            // leaves it as it is. Every other region answers 409 BucketAlreadyOwnedByYou.
            guard error.code == .bucketAlreadyOwnedByYou, region == "us-east-1" else { throw error }
        }
        return Response(status: .ok, headers: [.location: "/\(bucket)"])
    }

    func getBucketLocation(_ s3: S3Request, bucket: String) async throws -> Response {
        _ = try await engine.bucket(bucket)
        var x = XMLWriter()
        if region == "us-east-1" {
            x.element("LocationConstraint", namespace: true) { _ in }
        } else {
            x.element("LocationConstraint", namespace: true) { x in x.leafText(region) }
        }
        return xmlResponse(x.document)
    }

    // MARK: CORS configuration

    func putBucketCORS(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        let data = try await readXMLBody(body, resource: s3.resource)
        try checkSmallBody(data, s3: s3)
        let configuration = try CORSConfiguration(xml: data)
        try await engine.setBucketConfiguration(bucket, name: "cors", value: try JSONEncoder().encode(configuration))
        return Response(status: .ok)
    }

    func getBucketCORS(_ s3: S3Request, bucket: String) async throws -> Response {
        _ = try await engine.bucket(bucket)
        guard let configuration = await corsConfiguration(bucket) else {
            var error = S3Error(.noSuchCORSConfiguration, "The CORS configuration does not exist", resource: s3.resource)
            error.extra = [("BucketName", bucket)]
            throw error
        }
        return xmlResponse(configuration.xml)
    }

    func deleteBucketCORS(_ s3: S3Request, bucket: String) async throws -> Response {
        _ = try await engine.bucket(bucket)
        try await engine.setBucketConfiguration(bucket, name: "cors", value: nil)
        return Response(status: .noContent)
    }

    // MARK: Notification configuration

    func putBucketNotification(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        let data = try await readXMLBody(body, resource: s3.resource)
        try checkSmallBody(data, s3: s3)
        let configuration: NotificationConfiguration
        do {
            configuration = try NotificationXML.parse(data)
        } catch var error as S3Error {
            error.resource = s3.resource
            throw error
        }
        // Any queue name is a valid destination: the outbox keeps each queue's events.
        try await engine.setNotificationConfiguration(bucket, configuration.queues.isEmpty ? nil : configuration)
        return Response(status: .ok)
    }

    // MARK: DeleteObjects

    func deleteObjects(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        let data = try await readXMLBody(body, resource: s3.resource)
        try checkSmallBody(data, s3: s3)
        let root = try XMLTree.parse(data)
        guard root.name == "Delete" else {
            throw S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.", resource: s3.resource)
        }
        let quiet = root.child("Quiet")?.text.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() == "true"
        let objects = root.children(named: "Object")
        guard !objects.isEmpty, objects.count <= 1000 else {
            throw S3Error(.malformedXML, "A Delete request must name between 1 and 1000 objects.", resource: s3.resource)
        }
        // Each deletion first (they are async), then the document.
        var results: [(key: String, version: String?, outcome: Result<DeleteOutcome, any Error>)] = []
        results.reserveCapacity(objects.count)
        for object in objects {
            let key = object.child("Key")?.text ?? ""
            let version = object.child("VersionId")?.text.trimmingCharacters(in: .whitespacesAndNewlines)
            do {
                guard !key.isEmpty else { throw S3Error(.invalidArgument, "An object key must not be empty.") }
                results.append((key, version, .success(try await engine.delete(bucket: bucket, key: key, versionId: version))))
            } catch {
                results.append((key, version, .failure(error)))
            }
        }
        var x = XMLWriter()
        x.element("DeleteResult", namespace: true) { x in
            for (key, version, result) in results {
                switch result {
                case .success(let outcome):
                    if !quiet {
                        x.element("Deleted") { x in
                            x.leaf("Key", key)
                            if let version { x.leaf("VersionId", version) }
                            if outcome.isDeleteMarker {
                                x.leaf("DeleteMarker", "true")
                                if let markerVersion = outcome.versionId { x.leaf("DeleteMarkerVersionId", markerVersion) }
                            }
                        }
                    }
                case .failure(let error):
                    let (code, message): (String, String)
                    switch error {
                    case let e as S3Error: (code, message) = (e.code.rawValue, e.message)
                    case let e as StoreError: (code, message) = (e.code.rawValue, e.message)
                    default: (code, message) = ("InternalError", "We encountered an internal error. Please try again.")
                    }
                    x.element("Error") { x in
                        x.leaf("Key", key)
                        x.leaf("Code", code)
                        x.leaf("Message", message)
                    }
                }
            }
        }
        return xmlResponse(x.document)
    }

    // MARK: ListObjects (V1 and V2)

    /// The query parameters ListObjects (V1, V2) and ListObjectVersions share.
    struct ListingQuery {
        let prefix: String
        /// `nil` when absent or empty.
        let delimiter: String?
        /// At most 1000.
        let maxKeys: Int
        /// `encoding-type=url`: keys, prefixes and delimiters are answered URL-encoded.
        let urlEncode: Bool

        /// - Throws: `InvalidArgument` for a `max-keys` that is not a non-negative integer,
        ///   or an `encoding-type` other than `url`.
        init(_ s3: S3Request) throws {
            prefix = s3.query["prefix"] ?? ""
            delimiter = s3.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
            var maxKeys = 1000
            if let text = s3.query["max-keys"] {
                guard let value = Int(text), value >= 0 else {
                    throw S3Error(.invalidArgument, "Provided max-keys not an integer or within integer range", resource: s3.resource)
                }
                maxKeys = min(value, 1000)
            }
            self.maxKeys = maxKeys
            let encodingType = s3.query["encoding-type"]
            if let encodingType, encodingType != "url" {
                throw S3Error(.invalidArgument, "Invalid Encoding Method specified in Request", resource: s3.resource)
            }
            urlEncode = encodingType == "url"
        }

        func encode(_ text: String) -> String { urlEncode ? S3URIEncoding.encodePath(text) : text }
    }

    func listObjects(_ s3: S3Request, bucket: String, version2: Bool) async throws -> Response {
        let resource = s3.resource
        let listing = try ListingQuery(s3)
        let prefix = listing.prefix, delimiter = listing.delimiter, maxKeys = listing.maxKeys, urlEncode = listing.urlEncode
        func encode(_ text: String) -> String { listing.encode(text) }

        var after: String?
        var continuationToken: String?
        if version2 {
            if let token = s3.query["continuation-token"] {
                guard let data = Data(base64Encoded: token), let key = String(data: data, encoding: .utf8) else {
                    throw S3Error(.invalidArgument, "The continuation token provided is incorrect", resource: resource)
                }
                continuationToken = token
                after = key
            } else if let startAfter = s3.query["start-after"], !startAfter.isEmpty {
                after = startAfter
            }
        } else if let marker = s3.query["marker"], !marker.isEmpty {
            after = marker
        }

        let page = try await engine.list(bucket: bucket, prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys)
        let fetchOwner = !version2 || s3.query["fetch-owner"] == "true"
        var lastName: String?
        var x = XMLWriter()
        // Written in steps: a 1000-entry page is a millisecond or more of CPU, and the store may share
        // the cooperative pool with the upload API (hoist serve); yielding lets its requests in between.
        x.open("ListBucketResult", namespace: true)
        x.leaf("Name", bucket)
        x.leaf("Prefix", encode(prefix))
        if version2 {
            if let continuationToken { x.leaf("ContinuationToken", continuationToken) }
            if let startAfter = s3.query["start-after"] { x.leaf("StartAfter", encode(startAfter)) }
            x.leaf("KeyCount", String(page.entries.count))
        } else {
            x.leaf("Marker", encode(s3.query["marker"] ?? ""))
        }
        x.leaf("MaxKeys", String(maxKeys))
        if let delimiter { x.leaf("Delimiter", encode(delimiter)) }
        if urlEncode { x.leaf("EncodingType", "url") }
        x.leaf("IsTruncated", page.isTruncated ? "true" : "false")
        for (index, entry) in page.entries.enumerated() {
            if index > 0, index % 100 == 0 { await Task.yield() }
            switch entry {
            case .object(let info):
                lastName = info.key
                x.element("Contents") { x in
                    x.leaf("Key", encode(info.key))
                    x.leaf("LastModified", AMZDate(info.lastModified).xmlTimestamp)
                    x.leaf("ETag", "\"\(info.etag)\"")
                    x.leaf("Size", String(info.size))
                    if fetchOwner {
                        x.account("Owner", id: ownerId)
                    }
                    x.leaf("StorageClass", "STANDARD")
                }
            case .commonPrefix(let commonPrefix):
                lastName = commonPrefix
                x.element("CommonPrefixes") { x in x.leaf("Prefix", encode(commonPrefix)) }
            }
        }
        if page.isTruncated, let lastName {
            if version2 {
                x.leaf("NextContinuationToken", Data(lastName.utf8).base64EncodedString())
            } else if delimiter != nil {
                x.leaf("NextMarker", encode(lastName))
            }
        }
        x.close("ListBucketResult")
        return xmlResponse(x.document)
    }
}

extension XMLWriter {
    /// Writes escaped text inside the current element.
    mutating func leafText(_ text: String) {
        appendRaw(Self.escape(text))
    }
}
