import Foundation
import Hummingbird
import ObjectStoreEngine
import SigV4

extension S3Responder {
    // MARK: Put/GetBucketVersioning

    /// `PUT /bucket?versioning`: `Enabled` or `Suspended` (a versioned bucket never becomes unversioned again).
    func putBucketVersioning(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        let root = try await readConfiguration(body, s3: s3, root: "VersioningConfiguration")
        let malformed = malformedXML(s3)
        if let mfa = root.child("MfaDelete")?.text.trimmingCharacters(in: .whitespacesAndNewlines) {
            switch mfa {
            case "Disabled": break
            case "Enabled": throw notImplemented("MFA delete", s3)
            default: throw malformed
            }
        }
        guard let text = root.child("Status")?.text.trimmingCharacters(in: .whitespacesAndNewlines) else {
            throw S3Error(.illegalVersioningConfiguration, "The Versioning element must be specified", resource: s3.resource)
        }
        guard let status = VersioningStatus(rawValue: text) else { throw malformed }
        try await engine.setVersioning(bucket, status)
        return Response(status: .ok)
    }

    /// `GET /bucket?versioning`: the status, or an empty document for a bucket never versioned.
    func getBucketVersioning(_ s3: S3Request, bucket: String) async throws -> Response {
        let status = try await engine.versioning(bucket)
        var x = XMLWriter()
        x.element("VersioningConfiguration", namespace: true) { x in
            if let status { x.leaf("Status", status.rawValue) }
        }
        return xmlResponse(x.document)
    }

    // MARK: ListObjectVersions

    /// `GET /bucket?versions`: every version and delete marker, by key, newest first.
    func listObjectVersions(_ s3: S3Request, bucket: String) async throws -> Response {
        let listing = try ListingQuery(s3)
        let prefix = listing.prefix, delimiter = listing.delimiter, maxKeys = listing.maxKeys, urlEncode = listing.urlEncode
        func encode(_ text: String) -> String { listing.encode(text) }
        let keyMarker = s3.query["key-marker"] ?? ""
        let versionIdMarker = s3.query["version-id-marker"] ?? ""

        let page = try await engine.listVersions(bucket: bucket, prefix: prefix, delimiter: delimiter, keyMarker: keyMarker,
                                           versionIdMarker: versionIdMarker, maxKeys: maxKeys)
        var x = XMLWriter()
        x.element("ListVersionsResult", namespace: true) { x in
            x.leaf("Name", bucket)
            x.leaf("Prefix", encode(prefix))
            x.leaf("KeyMarker", encode(keyMarker))
            x.leaf("VersionIdMarker", versionIdMarker)
            if page.isTruncated {
                if let next = page.nextKeyMarker { x.leaf("NextKeyMarker", encode(next)) }
                if let next = page.nextVersionIdMarker { x.leaf("NextVersionIdMarker", next) }
            }
            x.leaf("MaxKeys", String(maxKeys))
            if let delimiter { x.leaf("Delimiter", encode(delimiter)) }
            if urlEncode { x.leaf("EncodingType", "url") }
            x.leaf("IsTruncated", page.isTruncated ? "true" : "false")
            func owner(_ x: inout XMLWriter) {
                x.account("Owner", id: ownerId)
            }
            for entry in page.entries {
                switch entry {
                case .version(let info, let isLatest):
                    x.element("Version") { x in
                        x.leaf("Key", encode(info.key))
                        x.leaf("VersionId", info.versionId ?? "null")
                        x.leaf("IsLatest", isLatest ? "true" : "false")
                        x.leaf("LastModified", AMZDate(info.lastModified).xmlTimestamp)
                        x.leaf("ETag", "\"\(info.etag)\"")
                        x.leaf("Size", String(info.size))
                        owner(&x)
                        x.leaf("StorageClass", "STANDARD")
                    }
                case .deleteMarker(let key, let versionId, let isLatest, let lastModified):
                    x.element("DeleteMarker") { x in
                        x.leaf("Key", encode(key))
                        x.leaf("VersionId", versionId)
                        x.leaf("IsLatest", isLatest ? "true" : "false")
                        x.leaf("LastModified", AMZDate(lastModified).xmlTimestamp)
                        owner(&x)
                    }
                case .commonPrefix(let commonPrefix):
                    x.element("CommonPrefixes") { x in x.leaf("Prefix", encode(commonPrefix)) }
                }
            }
        }
        return xmlResponse(x.document)
    }
}
