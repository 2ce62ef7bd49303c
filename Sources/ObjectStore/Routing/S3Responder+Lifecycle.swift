import Foundation
import Hummingbird
import ObjectStoreEngine
import SigV4

extension S3Responder {
    // MARK: Put/Get/DeleteBucketLifecycleConfiguration

    /// `PUT /bucket?lifecycle`: replaces the bucket's rules.
    func putBucketLifecycle(_ s3: S3Request, bucket: String, body: RequestBody) async throws -> Response {
        _ = try await engine.bucket(bucket)
        let data = try await readXMLBody(body, resource: s3.resource)
        try checkSmallBody(data, s3: s3)
        let configuration: LifecycleConfiguration
        do {
            configuration = try LifecycleConfiguration(xml: data)
        } catch var error as S3Error {
            error.resource = s3.resource
            throw error
        }
        try await engine.setBucketConfiguration(bucket, name: LifecycleConfiguration.configurationName,
                                          value: try JSONEncoder().encode(configuration))
        return Response(status: .ok)
    }

    /// `GET /bucket?lifecycle`.
    func getBucketLifecycle(_ s3: S3Request, bucket: String) async throws -> Response {
        guard let data = try await engine.bucketConfiguration(bucket, name: LifecycleConfiguration.configurationName),
              let configuration = try? JSONDecoder().decode(LifecycleConfiguration.self, from: data)
        else {
            var error = S3Error(.noSuchLifecycleConfiguration, "The lifecycle configuration does not exist", resource: s3.resource)
            error.extra = [("BucketName", bucket)]
            throw error
        }
        return xmlResponse(configuration.xml)
    }

    /// `DELETE /bucket?lifecycle`.
    func deleteBucketLifecycle(_ s3: S3Request, bucket: String) async throws -> Response {
        try await engine.setBucketConfiguration(bucket, name: LifecycleConfiguration.configurationName, value: nil)
        return Response(status: .noContent)
    }
}

extension LifecycleConfiguration {
    /// Parses a `<LifecycleConfiguration>` document, validating it as S3 does.
    ///
    /// Supported: rules by prefix (`Filter/Prefix`, or the older `Prefix`), with
    /// `Expiration` (`Days` or `Date`) and `AbortIncompleteMultipartUpload`
    /// (`DaysAfterInitiation`) and `NoncurrentVersionExpiration` (`NoncurrentDays`). Transitions,
    /// `NewerNoncurrentVersions` and tag or size filters answer `NotImplemented`.
    ///
    /// - Throws: ``S3Error`` `MalformedXML`, `InvalidArgument`, `NotImplemented`.
    package init(xml data: Data) throws {
        let malformed = S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
        let root = try XMLTree.parse(data)
        guard root.name == "LifecycleConfiguration" else { throw malformed }
        var rules: [Rule] = []
        var ids: Set<String> = []
        func trimmed(_ node: XMLTree?) -> String? { node?.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        func days(_ text: String?) throws -> Int? {
            guard let text else { return nil }
            guard let value = Int(text), value > 0 else {
                throw S3Error(.invalidArgument, "'Days' for an action must be a positive integer")
            }
            return value
        }
        for node in root.children {
            guard node.name == "Rule" else { throw malformed }
            var rule = Rule()
            rule.id = trimmed(node.child("ID"))
            if let id = rule.id {
                guard id.count <= 255 else { throw S3Error(.invalidArgument, "ID length should not exceed allowed limit of 255") }
                guard ids.insert(id).inserted else { throw S3Error(.invalidArgument, "Rule ID must be unique. Found same ID for more than one rule") }
            }
            switch trimmed(node.child("Status")) {
            case "Enabled": rule.enabled = true
            case "Disabled": rule.enabled = false
            default: throw malformed
            }
            if let filter = node.child("Filter") {
                guard node.child("Prefix") == nil else { throw malformed }
                for child in filter.children where child.name != "Prefix" {
                    throw S3Error(.notImplemented, "Lifecycle filters other than Prefix (\(child.name)) are not implemented by this store yet.")
                }
                rule.prefix = filter.child("Prefix")?.text ?? ""
            } else {
                rule.prefix = node.child("Prefix")?.text ?? ""
            }
            for child in node.children {
                switch child.name {
                case "ID", "Status", "Filter", "Prefix":
                    break
                case "Expiration":
                    if trimmed(child.child("ExpiredObjectDeleteMarker")) != nil && child.child("Days") == nil && child.child("Date") == nil {
                        throw S3Error(.notImplemented, "ExpiredObjectDeleteMarker is not implemented by this store yet (no versioning).")
                    }
                    rule.expirationDays = try days(trimmed(child.child("Days")))
                    if let text = trimmed(child.child("Date")) {
                        guard rule.expirationDays == nil, let date = AMZDate(iso8601: text) else { throw malformed }
                        guard Int64(date.date.timeIntervalSince1970) % 86_400 == 0 else {
                            throw S3Error(.invalidArgument, "'Date' must be at midnight GMT")
                        }
                        rule.expirationDate = date.date
                    }
                    guard rule.expirationDays != nil || rule.expirationDate != nil else { throw malformed }
                case "AbortIncompleteMultipartUpload":
                    guard let value = try days(trimmed(child.child("DaysAfterInitiation"))) else { throw malformed }
                    rule.abortIncompleteMultipartUploadDays = value
                case "NoncurrentVersionExpiration":
                    if child.child("NewerNoncurrentVersions") != nil {
                        throw S3Error(.notImplemented, "NewerNoncurrentVersions is not implemented by this store yet.")
                    }
                    guard let value = try days(trimmed(child.child("NoncurrentDays"))) else { throw malformed }
                    rule.noncurrentVersionExpirationDays = value
                case "Transition", "Transitions", "NoncurrentVersionTransition", "NoncurrentVersionTransitions":
                    throw S3Error(.notImplemented, "The lifecycle action \(child.name) is not implemented by this store yet.")
                default:
                    throw malformed
                }
            }
            guard rule.expirationDays != nil || rule.expirationDate != nil || rule.abortIncompleteMultipartUploadDays != nil
                    || rule.noncurrentVersionExpirationDays != nil else {
                throw S3Error(.invalidRequest, "At least one action needs to be specified in a rule")
            }
            rules.append(rule)
        }
        guard !rules.isEmpty, rules.count <= 1000 else { throw malformed }
        self.init(rules: rules)
    }

    /// The configuration as S3's XML.
    var xml: String {
        var x = XMLWriter()
        x.element("LifecycleConfiguration", namespace: true) { x in
            for rule in rules {
                x.element("Rule") { x in
                    if let id = rule.id { x.leaf("ID", id) }
                    x.element("Filter") { x in x.leaf("Prefix", rule.prefix) }
                    x.leaf("Status", rule.enabled ? "Enabled" : "Disabled")
                    if rule.expirationDays != nil || rule.expirationDate != nil {
                        x.element("Expiration") { x in
                            if let days = rule.expirationDays { x.leaf("Days", String(days)) }
                            if let date = rule.expirationDate { x.leaf("Date", AMZDate(date).xmlTimestamp) }
                        }
                    }
                    if let days = rule.noncurrentVersionExpirationDays {
                        x.element("NoncurrentVersionExpiration") { x in x.leaf("NoncurrentDays", String(days)) }
                    }
                    if let days = rule.abortIncompleteMultipartUploadDays {
                        x.element("AbortIncompleteMultipartUpload") { x in x.leaf("DaysAfterInitiation", String(days)) }
                    }
                }
            }
        }
        return x.document
    }
}
