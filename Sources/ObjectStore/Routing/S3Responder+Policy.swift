import Foundation
import Hummingbird
import ObjectStoreEngine

extension S3Responder {
    // MARK: Anonymous reads

    /// An unsigned request: a GET or HEAD of an object's latest version that the bucket's policy
    /// grants to everyone (and Block Public Access does not restrict); anything else is `AccessDenied`.
    ///
    /// The store serves plain HTTP, so `aws:SecureTransport` is `false` for every request it sees.
    func anonymousRead(_ s3: S3Request) async throws -> Response {
        let denied = S3Error(.accessDenied, "Access Denied", resource: s3.resource)
        guard s3.method == "GET" || s3.method == "HEAD", let bucket = s3.bucket, let key = s3.key else { throw denied }
        // The query of a plain GetObject: response header overrides, a part number, the SDKs' x-id.
        for name in s3.query.keys where !(name.hasPrefix("response-") || name == "partNumber" || name == "x-id") {
            throw denied
        }
        guard let data = try await engine.bucketConfiguration(bucket, name: "policy"),
              let policy = try? BucketPolicy(json: data, bucket: bucket, resource: s3.resource)
        else { throw denied }
        if let block = try await publicAccessBlock(bucket), block.restrictPublicBuckets { throw denied }
        guard policy.allowsPublicRead(of: key, secureTransport: false) else { throw denied }
        return try await getObject(s3, bucket: bucket, key: key, head: s3.method == "HEAD")
    }

    // MARK: Bucket policy

    /// `PUT /bucket?policy`: checks that the policy is one the store can evaluate, and keeps it as sent.
    func putBucketPolicy(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        var data = Data()
        for try await buffer in body {
            data.append(contentsOf: buffer.readableBytesView)
            guard data.count <= BucketPolicy.maximumSize else {
                throw S3Error(.malformedPolicy, "Policies must be no more than 20 KB.", resource: s3.resource)
            }
        }
        try checkSmallBody(data, s3: s3)
        let policy = try BucketPolicy(json: data, bucket: bucket, resource: s3.resource)
        if policy.isPublic, let block = try await publicAccessBlock(bucket), block.blockPublicPolicy {
            throw S3Error(.accessDenied, "Access Denied: public policies are blocked by the BlockPublicPolicy block public access setting.",
                          resource: s3.resource)
        }
        try await engine.setBucketConfiguration(bucket, name: "policy", value: data)
        return Response(status: .noContent)
    }

    /// `GET /bucket?policy`: the policy as it was put.
    func getBucketPolicy(_ s3: S3Request, bucket: String) async throws -> Response {
        _ = try await engine.bucket(bucket)
        guard let data = try await engine.bucketConfiguration(bucket, name: "policy") else {
            var error = S3Error(.noSuchBucketPolicy, "The bucket policy does not exist", resource: s3.resource)
            error.extra = [("BucketName", bucket)]
            throw error
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// `DELETE /bucket?policy` and `DELETE /bucket?publicAccessBlock`: 204, whether or not there was one.
    func deleteBucketConfiguration(_ s3: S3Request, bucket: String, name: String) async throws -> Response {
        _ = try await engine.bucket(bucket)
        try await engine.setBucketConfiguration(bucket, name: name, value: nil)
        return Response(status: .noContent)
    }

    // MARK: Block Public Access

    func publicAccessBlock(_ bucket: String) async throws -> PublicAccessBlock? {
        guard let data = try await engine.bucketConfiguration(bucket, name: "publicAccessBlock") else { return nil }
        return try JSONDecoder().decode(PublicAccessBlock.self, from: data)
    }

    func putPublicAccessBlock(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        let data = try await readXMLBody(body, resource: s3.resource)
        try checkSmallBody(data, s3: s3)
        let block = try PublicAccessBlock(xml: data, resource: s3.resource)
        try await engine.setBucketConfiguration(bucket, name: "publicAccessBlock", value: try JSONEncoder().encode(block))
        return Response(status: .ok)
    }

    func getPublicAccessBlock(_ s3: S3Request, bucket: String) async throws -> Response {
        _ = try await engine.bucket(bucket)
        guard let block = try await publicAccessBlock(bucket) else {
            var error = S3Error(.noSuchPublicAccessBlockConfiguration, "The public access block configuration was not found", resource: s3.resource)
            error.extra = [("BucketName", bucket)]
            throw error
        }
        return xmlResponse(block.xml)
    }
}
