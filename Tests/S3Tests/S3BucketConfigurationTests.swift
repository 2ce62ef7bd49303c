import Foundation
@testable import S3
import Testing

/// The bucket settings' XML, as AWS, Ceph RGW and `hoist store` write it, read and written back.
@Suite("Bucket configuration XML")
struct S3BucketConfigurationTests {
    @Test("CORS rules: read with namespaces and entities, written back the same")
    func cors() {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><ID>a&amp;b</ID>
            <AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>
            <AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>
            <CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>
            """
        let rules = S3CORSRule.parse(xml)
        #expect(rules == [S3CORSRule(id: "a&b", allowedOrigins: ["https://app.example.com"], allowedMethods: ["PUT", "GET"],
                                     allowedHeaders: ["x-amz-*"], exposeHeaders: ["ETag"], maxAgeSeconds: 3000),
                          S3CORSRule(allowedOrigins: ["*"], allowedMethods: ["GET"])])
        #expect(S3CORSRule.parse(S3CORSRule.render(rules)) == rules)
        #expect(S3CORSRule.render(rules).contains("<ID>a&amp;b</ID>"))
    }

    @Test("lifecycle: prefix in Filter or legacy, the three actions, unknown rules kept verbatim")
    func lifecycle() {
        let xml = """
            <LifecycleConfiguration><Rule><ID>abort</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>
            <AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>
            <Rule><ID>q</ID><Prefix>quarantine/</Prefix><Status>Enabled</Status><Expiration><Days>30</Days></Expiration>
            <NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays></NoncurrentVersionExpiration></Rule>
            <Rule><ID>tags</ID><Filter><And><Prefix>a/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Disabled</Status>
            <Transition><Days>10</Days><StorageClass>GLACIER</StorageClass></Transition></Rule><Rule><ID>empty</ID><Filter/><Status>Enabled</Status>
            <Expiration><Days>3</Days></Expiration></Rule></LifecycleConfiguration>
            """
        let rules = S3LifecycleRule.parse(xml)
        #expect(rules.count == 4)
        #expect(rules[0].id == "abort" && rules[0].prefix == "" && rules[0].enabled && rules[0].abortIncompleteMultipartUploadDays == 1)
        #expect(rules[1].prefix == "quarantine/" && rules[1].expirationDays == 30 && rules[1].noncurrentVersionExpirationDays == 7)
        #expect(rules[2].prefix == nil && !rules[2].enabled && rules[2].expirationDays == nil)
        #expect(rules[3].prefix == "" && rules[3].expirationDays == 3)
        let written = S3LifecycleRule.render(rules)
        #expect(written.contains("<StorageClass>GLACIER</StorageClass>"))
        var fresh = S3LifecycleRule(id: "n", prefix: "", noncurrentVersionExpirationDays: 30)
        fresh.rawXML = nil
        let reread = S3LifecycleRule.parse(S3LifecycleRule.render([fresh]))
        #expect(reread.first?.noncurrentVersionExpirationDays == 30 && reread.first?.prefix == "")
    }

    @Test("encryption, public access block, notification round-trip")
    func others() {
        let kms = S3BucketEncryption(algorithm: "aws:kms", kmsKeyId: "arn:aws:kms:eu-west-1:1:key/k", bucketKeyEnabled: true)
        #expect(S3BucketEncryption.parse(kms.xml) == kms)
        #expect(S3BucketEncryption.parse("<ServerSideEncryptionConfiguration/>") == nil)
        let block = S3PublicAccessBlock(blockPublicAcls: true, ignorePublicAcls: false, blockPublicPolicy: true, restrictPublicBuckets: false)
        #expect(S3PublicAccessBlock.parse(block.xml) == block)
        let n = S3NotificationConfiguration(queues: [.init(id: "q", queueArn: "arn:aws:sqs:us-east-1:1:q", events: ["s3:ObjectCreated:*"],
                                                           prefix: "articles/")],
                                            otherXML: ["<TopicConfiguration><Topic>arn:aws:sns:us-east-1:1:t</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration>"])
        let reread = S3NotificationConfiguration.parse(n.xml)
        #expect(reread == n)
        #expect(reread.otherDestinations.first?.events == ["s3:ObjectCreated:*"])
        #expect(S3NotificationConfiguration.parse("<NotificationConfiguration/>") == S3NotificationConfiguration())
    }

    @Test("HTTP dates")
    func httpDate() {
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == Date(timeIntervalSince1970: 784_111_777))
        #expect(HTTPDate.parse("garbage") == nil)
        #expect(HTTPDate.parse("Sun, 36 Nov 1994 08:49:37 GMT") == nil)
    }
}
