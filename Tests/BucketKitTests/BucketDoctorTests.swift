import BucketKit
import Foundation
import S3
import Testing

/// The doctor's findings from given states, with no network.
@Suite("Bucket doctor")
struct BucketDoctorTests {
    typealias P = BucketPlanTests
    static let passing = BucketProbeReport(preflight: [P.app: .passed("PUT allowed")], etagReadable: .passed("ETag exposed"),
                                           roundTrip: .passed("PUT, GET, DELETE worked"))

    static func find(_ findings: [BucketFinding], _ check: String) -> [BucketFinding] {
        findings.filter { $0.check == check }
    }

    @Test("a bucket set up as wanted: all ok, exit 0")
    func healthy() {
        let now = Date()
        var s = P.configured()
        s.serverDate = now
        s.localDate = now
        let findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: P.wants())
        #expect(findings.allSatisfy { $0.status == .ok }, "\(findings.filter { $0.status != .ok })")
        #expect(BucketDoctor.exitStatus(findings) == 0)
        #expect(Set(findings.map(\.check)) == ["credentials", "clock", "bucket", "cors", "preflight", "etag-readable", "probe", "versioning",
                                               "encryption", "public-access", "tls-policy", "lifecycle", "notification"])
    }

    @Test("CORS problems fail (exit 1) with what breaks and the fix")
    func corsFails() throws {
        let w = P.wants()
        var noETag = w.corsRule
        noETag.exposeHeaders = []
        var wildcard = w.corsRule
        wildcard.allowedOrigins = ["*"]
        let otherOrigin = S3CORSRule(allowedOrigins: ["https://elsewhere.example"], allowedMethods: ["PUT"], allowedHeaders: ["*"], exposeHeaders: ["ETag"])
        let cases: [([S3CORSRule], String)] = [([], "no CORS rules"), ([noETag], "does not expose ETag"), ([wildcard], "every origin (*)"),
                                               ([otherOrigin], "no rule allows \(P.app)")]
        for (rules, expected) in cases {
            var s = P.configured()
            s.cors = .value(rules)
            let findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: w)
            let cors = Self.find(findings, "cors")
            let failure = try #require(cors.first { $0.status == .fail && $0.detail.contains(expected) }, "\(cors)")
            #expect(failure.fix == "hoist bucket setup --only cors")
            #expect(failure.breaks != nil)
            #expect(BucketDoctor.exitStatus(findings) == 1)
            #expect(failure.lines[0].hasPrefix("FAIL  cors: "))
            #expect(failure.lines[2] == "  fix: hoist bucket setup --only cors")
        }
    }

    @Test("settings a browser upload does not need are warnings with their fix; exit 0")
    func warnings() throws {
        var s = P.configured()
        s.versioning = .value("Suspended")
        s.encryption = .value(nil)
        s.publicAccess = .value(S3PublicAccessBlock(blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false))
        s.policy = .value(nil)
        s.lifecycle = .value([])
        s.notification = .value(S3NotificationConfiguration())
        let findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: P.wants())
        #expect(BucketDoctor.exitStatus(findings) == 0)
        for setting in [BucketSetting.versioning, .encryption, .publicAccess, .tlsPolicy, .lifecycle, .notification] {
            let f = try #require(Self.find(findings, setting.rawValue).first)
            #expect(f.status == .warn, "\(f)")
            #expect(f.fix?.hasPrefix("hoist bucket setup --only \(setting.rawValue)") == true)
            #expect(f.breaks != nil)
        }
        let lifecycle = try #require(Self.find(findings, "lifecycle").first)
        #expect(lifecycle.detail.contains("AbortIncompleteMultipartUpload after 1 day"))
    }

    @Test("not supported by the endpoint: a warning without a fix; for CORS a failure")
    func notSupported() throws {
        var s = P.configured()
        s.encryption = .notSupported("GetBucketEncryption answered HTTP 501 NotImplemented")
        var findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: P.wants())
        let e = try #require(Self.find(findings, "encryption").first)
        #expect(e.status == .warn && e.detail.hasPrefix("not supported by this endpoint"))
        #expect(BucketDoctor.exitStatus(findings) == 0)
        s.cors = .notSupported("GetBucketCors answered HTTP 501 NotImplemented")
        findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: P.wants())
        #expect(Self.find(findings, "cors").first?.status == .fail)
    }

    @Test("clock: 4 min ok, 6 min warn, 16 min FAIL")
    func clock() {
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        for (skew, status) in [(240.0, BucketFinding.Status.ok), (-360, .warn), (960, .fail)] {
            var s = P.configured()
            s.localDate = now
            s.serverDate = now.addingTimeInterval(skew)
            let findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: P.wants())
            #expect(Self.find(findings, "clock").first?.status == status)
            #expect(BucketDoctor.exitStatus(findings) == (status == .fail ? 1 : 0))
        }
    }

    @Test("credentials: expiring before the URL lifetime warns; none or refused fails; a missing bucket fails")
    func credentialsAndBucket() {
        let now = Date()
        var s = P.configured()
        s.localDate = now
        s.serverDate = now
        s.credentials = .found(accessKeyId: "ASIAEXAMPLE", expiration: now.addingTimeInterval(600))
        var findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: P.wants())
        #expect(Self.find(findings, "credentials").first?.status == .warn)
        #expect(BucketDoctor.exitStatus(findings) == 0)
        s.credentials = .found(accessKeyId: "ASIAEXAMPLE", expiration: now.addingTimeInterval(3600))
        findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: P.wants())
        #expect(Self.find(findings, "credentials").first?.status == .ok)

        for access in [BucketAccess.missing, .credentialsInvalid("InvalidAccessKeyId"), .denied("AccessDenied"), .clockSkewed("RequestTimeTooSkewed")] {
            var broken = P.configured()
            broken.access = access
            let f = BucketDoctor.findings(state: broken, probe: nil, wants: P.wants())
            #expect(BucketDoctor.exitStatus(f) == 1, "\(access)")
            #expect(f.last?.status == .fail)
        }
        let none = BucketDoctor.findings(state: BucketState(bucket: "b", access: .unreachable("no credentials"), credentials: .missing("No credentials")),
                                         probe: nil, wants: P.wants())
        #expect(none.count == 1 && none[0].status == .fail && none[0].check == "credentials")
    }

    @Test("probe failures fail: preflight refused, ETag not readable, PUT refused")
    func probe() {
        var s = P.configured()
        s.serverDate = s.localDate
        let broken = BucketProbeReport(preflight: [P.app: .failed("OPTIONS answered HTTP 403")], etagReadable: .failed("no ETag"),
                                       roundTrip: .failed("PUT answered HTTP 403 AccessDenied"))
        let findings = BucketDoctor.findings(state: s, probe: broken, wants: P.wants())
        for check in ["preflight", "etag-readable", "probe"] {
            #expect(Self.find(findings, check).first?.status == .fail, "\(check)")
        }
        #expect(BucketDoctor.exitStatus(findings) == 1)
    }

    @Test("plain-http endpoint: tls-policy is a warning naming https, not a failure")
    func plainHTTP() {
        var s = P.configured()
        s.serverDate = s.localDate
        s.policy = .notRead
        let findings = BucketDoctor.findings(state: s, probe: Self.passing, wants: P.wants(tls: false))
        let f = Self.find(findings, "tls-policy").first
        #expect(f?.status == .warn && f?.fix?.contains("https") == true)
        #expect(BucketDoctor.exitStatus(findings) == 0)
    }
}
