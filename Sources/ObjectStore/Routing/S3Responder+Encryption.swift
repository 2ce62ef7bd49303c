import Foundation
import HTTPTypes
import Hummingbird
import ObjectStoreEngine

/// Encryption at rest (SSE-S3, `AES256`): a bucket's default, and the request header that asks for it.
///
/// The engine encrypts each object's files with its own data key, sealed by the store's master
/// key (see `StorageEngine`); objects written before a bucket's default was turned on stay as
/// they were written, as on S3.
extension S3Responder {
    static let encryptionHeader = HTTPField.Name("x-amz-server-side-encryption")!

    /// Whether the request asks for its object to be encrypted at rest (`x-amz-server-side-encryption: AES256`).
    ///
    /// - Throws: `InvalidArgument` for any other algorithm (SSE-KMS and customer keys are not
    ///   offered by this store: a request that asks for them is refused, never stored plain).
    func requestedEncryption(_ s3: S3Request) throws -> Bool {
        if s3.header("x-amz-server-side-encryption-customer-algorithm") != nil {
            throw notImplemented("Server-side encryption with customer-provided keys (SSE-C)", s3)
        }
        guard let value = s3.header("x-amz-server-side-encryption") else { return false }
        guard value == ObjectMetadata.aes256 else {
            throw S3Error(.invalidArgument, "The encryption method specified is not supported: only AES256 (SSE-S3) is.", resource: s3.resource)
        }
        return true
    }

    /// Adds `x-amz-server-side-encryption: AES256` for an object encrypted at rest.
    func addEncryptionHeader(_ metadata: ObjectMetadata, to headers: inout HTTPFields) {
        if let algorithm = metadata.serverSideEncryption { headers[Self.encryptionHeader] = algorithm }
    }

    /// `PUT /bucket?encryption`: the bucket's default encryption; only `AES256` is offered.
    func putBucketEncryption(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        let root = try await readConfiguration(body, s3: s3, root: "ServerSideEncryptionConfiguration")
        let malformed = malformedXML(s3)
        let rules = root.children(named: "Rule")
        guard rules.count == 1, let rule = rules.first, let apply = rule.child("ApplyServerSideEncryptionByDefault"),
              let algorithm = apply.child("SSEAlgorithm")?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        else { throw malformed }
        if let bucketKey = rule.child("BucketKeyEnabled")?.text.trimmingCharacters(in: .whitespacesAndNewlines),
           bucketKey != "true" && bucketKey != "false" {
            throw malformed
        }
        switch algorithm {
        case ObjectMetadata.aes256:
            guard apply.child("KMSMasterKeyID") == nil else {
                throw S3Error(.invalidArgument, "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
                              resource: s3.resource)
            }
        case "aws:kms", "aws:kms:dsse":
            throw notImplemented("Server-side encryption with KMS keys (\(algorithm))", s3)
        default:
            throw malformed
        }
        try await engine.setDefaultEncryption(bucket, true)
        return Response(status: .ok)
    }

    /// `GET /bucket?encryption`: the default encryption, or `ServerSideEncryptionConfigurationNotFoundError`.
    func getBucketEncryption(_ s3: S3Request, bucket: String) async throws -> Response {
        guard try await engine.defaultEncryption(bucket) else {
            throw S3Error(.serverSideEncryptionConfigurationNotFound, "The server side encryption configuration was not found",
                          resource: s3.resource)
        }
        var x = XMLWriter()
        x.element("ServerSideEncryptionConfiguration", namespace: true) { x in
            x.element("Rule") { x in
                x.element("ApplyServerSideEncryptionByDefault") { x in
                    x.leaf("SSEAlgorithm", ObjectMetadata.aes256)
                }
                x.leaf("BucketKeyEnabled", "false")
            }
        }
        return xmlResponse(x.document)
    }
}
