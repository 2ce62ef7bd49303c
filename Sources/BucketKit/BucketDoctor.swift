import Foundation
import S3

/// One line of the doctor's report: a check, its outcome, and for a problem what breaks and the fix.
public struct BucketFinding: Sendable, Equatable {
    /// The outcome.
    public enum Status: String, Sendable {
        case ok
        case warn
        case fail = "FAIL"
    }

    public var status: Status
    /// The check's name: `cors`, `preflight`, `probe`, `clock`, ….
    public var check: String
    public var detail: String
    /// What does not work because of it.
    public var breaks: String?
    /// The exact command (or step) that fixes it.
    public var fix: String?

    public init(_ status: Status, _ check: String, _ detail: String, breaks: String? = nil, fix: String? = nil) {
        self.status = status
        self.check = check
        self.detail = detail
        self.breaks = breaks
        self.fix = fix
    }

    /// `ok|warn|FAIL  check: detail`, then `  breaks: …` and `  fix: …` lines.
    public var lines: [String] {
        var out = ["\(status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(check): \(detail)"]
        if let breaks { out.append("  breaks: \(breaks)") }
        if let fix { out.append("  fix: \(fix)") }
        return out
    }
}

/// What the doctor's live requests saw: the CORS preflight, and a pre-signed PUT, GET and DELETE.
public struct BucketProbeReport: Sendable, Equatable {
    /// One live check's outcome.
    public enum Outcome: Sendable, Equatable {
        case passed(String)
        case failed(String)
        case notRun(String)
    }

    /// The preflight's outcome per origin.
    public var preflight: [String: Outcome]
    /// Whether `Access-Control-Expose-Headers` of a real PUT/GET answered with `Origin` names `ETag`.
    public var etagReadable: Outcome
    /// The pre-signed PUT, GET and DELETE of the probe key.
    public var roundTrip: Outcome

    public init(preflight: [String: Outcome] = [:], etagReadable: Outcome = .notRun("not run"), roundTrip: Outcome = .notRun("not run")) {
        self.preflight = preflight
        self.etagReadable = etagReadable
        self.roundTrip = roundTrip
    }
}

/// Judges a bucket: each setting, the clock, the credentials and the live probe, as findings.
///
/// ```swift
/// let findings = BucketDoctor.findings(state: state, probe: report, wants: wants)
/// exit(BucketDoctor.exitStatus(findings))
/// ```
public enum BucketDoctor {
    /// Skew of the endpoint's clock that gets a warning, and the one that fails (S3 refuses requests
    /// signed more than 15 minutes off).
    public static let skewWarning: TimeInterval = 5 * 60
    public static let skewFailure: TimeInterval = 15 * 60

    /// `1` when a finding failed (a browser upload would not work), else `0`.
    public static func exitStatus(_ findings: [BucketFinding]) -> Int32 {
        findings.contains { $0.status == .fail } ? 1 : 0
    }

    /// The findings for `state` (and the probe's report, when it ran).
    public static func findings(state: BucketState, probe: BucketProbeReport?, wants: BucketWants) -> [BucketFinding] {
        var out: [BucketFinding] = []
        let fix = { (setting: BucketSetting) -> String in
            var command = wants.setupCommand(only: setting)
            if setting == .notification, wants.queueArn == nil { command += " --queue-arn arn:aws:sqs:REGION:ACCOUNT:QUEUE" }
            return command
        }

        // Credentials.
        switch state.credentials {
        case let .missing(why):
            out.append(.init(.fail, "credentials", why, breaks: "nothing can be signed: no upload URL works",
                             fix: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, HOIST_AWS_PROFILE, or run with a task role"))
            return out
        case let .found(id, expiration):
            if let expiration {
                let left = expiration.timeIntervalSince(state.localDate)
                if left < Double(wants.urlExpiry) {
                    out.append(.init(.warn, "credentials", "\(id) (temporary) expire in \(Int(left)) s, sooner than HOIST_URL_EXPIRY (\(wants.urlExpiry) s)",
                                     breaks: "URLs signed now stop working when the credentials expire, before their \(wants.urlExpiry) s",
                                     fix: "refresh the credentials (hoist api fetches container credentials again before they expire), or lower HOIST_URL_EXPIRY"))
                } else {
                    out.append(.init(.ok, "credentials", "\(id) (temporary, \(Int(left)) s left)"))
                }
            } else {
                out.append(.init(.ok, "credentials", "\(id)"))
            }
        }

        // Clock.
        out.append(clockFinding(state))

        // The bucket itself.
        switch state.access {
        case .ok:
            out.append(.init(.ok, "bucket", "\(state.bucket) answers"))
        case .missing:
            out.append(.init(.fail, "bucket", "\(state.bucket) does not exist", breaks: "every upload (NoSuchBucket)",
                             fix: "create the bucket (aws s3api create-bucket --bucket \(state.bucket), or your store's tool), then \(wants.setupCommand())"))
            return out
        case let .credentialsInvalid(why):
            out.append(.init(.fail, "credentials", "the endpoint refuses them: \(why)", breaks: "every upload URL they sign (403)",
                             fix: "use the right access key and secret (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or HOIST_AWS_PROFILE)"))
            return out
        case let .denied(why):
            out.append(.init(.fail, "bucket", "access denied: \(why)", breaks: "uploads signed by these credentials, and this check",
                             fix: "grant the role the bucket's permissions (hoist iam-policy api; for setup and doctor also s3:GetBucket*/PutBucket*)"))
            return out
        case let .clockSkewed(why):
            out.append(.init(.fail, "clock", "the endpoint refuses our time: \(why)", breaks: "every signed request (RequestTimeTooSkewed)",
                             fix: "synchronise this machine's clock (NTP: timedatectl set-ntp true)"))
            return out
        case let .unreachable(why):
            out.append(.init(.fail, "bucket", "no answer: \(why)", breaks: "every upload",
                             fix: "check HOIST_S3_ENDPOINT / --endpoint and the network"))
            return out
        }

        let only = wants.only
        if only.contains(.cors) { out += corsFindings(state, wants: wants, fix: fix(.cors)) }
        if let probe { out += probeFindings(probe, wants: wants, fix: fix(.cors)) }
        if only.contains(.versioning) {
            out.append(judge(state.versioning, "versioning", fix: fix(.versioning)) { status in
                status == "Enabled" ? .init(.ok, "versioning", "Enabled")
                    : .init(.warn, "versioning", status ?? "never enabled",
                            breaks: "an overwritten or deleted upload cannot be recovered; noncurrent-version expiry has nothing to do",
                            fix: fix(.versioning))
            })
        }
        if only.contains(.encryption) {
            out.append(judge(state.encryption, "encryption", fix: fix(.encryption)) { current in
                if let current, BucketPlan.encryptionSatisfies(current, wants.encryption) {
                    return .init(.ok, "encryption", BucketPlan.describe(current))
                }
                return .init(.warn, "encryption", current.map { "\(BucketPlan.describe($0)), wanted \(BucketPlan.describe(wants.encryption))" } ?? "no default encryption",
                             breaks: "objects written without an SSE header are stored unencrypted (or with the wrong key)",
                             fix: fix(.encryption))
            })
        }
        if only.contains(.publicAccess) {
            out.append(judge(state.publicAccess, "public-access", fix: fix(.publicAccess)) { current in
                current?.isAllBlocked == true ? .init(.ok, "public-access", "Block Public Access all on")
                    : .init(.warn, "public-access", current.map { "Block Public Access \(BucketPlan.describe($0))" } ?? "Block Public Access not configured",
                            breaks: "an ACL or policy can make uploads public by mistake",
                            fix: fix(.publicAccess))
            })
        }
        if only.contains(.tlsPolicy) {
            if !wants.endpointUsesTLS {
                out.append(.init(.warn, "tls-policy", "the endpoint is plain http: requests (and URLs) travel unencrypted; no TLS-only policy applies",
                                 breaks: "upload URLs and bytes can be read on the network",
                                 fix: "serve the endpoint over https (a TLS-terminating proxy), then \(fix(.tlsPolicy))"))
            } else {
                out.append(judge(state.policy, "tls-policy", fix: fix(.tlsPolicy)) { json in
                    let present = (try? TLSPolicy.isPresent(in: json, bucket: wants.bucket)) ?? false
                    return present ? .init(.ok, "tls-policy", "non-TLS requests are denied")
                        : .init(.warn, "tls-policy", json == nil ? "no bucket policy" : "the policy does not deny non-TLS requests",
                                breaks: "clients may use plain-http URLs, readable on the network",
                                fix: fix(.tlsPolicy))
                })
            }
        }
        if only.contains(.lifecycle) {
            out.append(judge(state.lifecycle, "lifecycle", fix: fix(.lifecycle)) { rules in
                let missing = LifecycleRules.missing(rules, wants: wants)
                if missing.isEmpty { return .init(.ok, "lifecycle", "abort after 1 day; noncurrent and \(BucketWants.quarantinePrefix) after \(wants.retentionDays) days") }
                var breaks: [String] = []
                if missing.contains(.abort) { breaks.append("parts of abandoned multipart uploads are kept (and billed) forever") }
                if missing.contains(.noncurrent) { breaks.append("old versions pile up") }
                if missing.contains(.quarantine) { breaks.append("rejected files in \(BucketWants.quarantinePrefix) are kept forever") }
                return .init(.warn, "lifecycle", "missing: " + missing.map { LifecycleRules.describe($0, wants: wants) }.joined(separator: "; "),
                             breaks: breaks.joined(separator: "; "), fix: fix(.lifecycle))
            })
        }
        if only.contains(.notification) {
            out.append(judge(state.notification, "notification", fix: fix(.notification)) { configuration in
                if NotificationRules.isWanted(configuration, arn: wants.queueArn) {
                    return .init(.ok, "notification", "\(BucketWants.createdEvent) under \(BucketWants.uploadsPrefix) → \(wants.queueArn ?? "a destination")")
                }
                return .init(.warn, "notification",
                             "no \(BucketWants.createdEvent) notification under \(BucketWants.uploadsPrefix)\(wants.queueArn.map { " to \($0)" } ?? "")",
                             breaks: "the image worker hears of no upload: nothing is verified, quarantined or thumbnailed",
                             fix: fix(.notification))
            })
        }
        return out
    }

    static func clockFinding(_ state: BucketState) -> BucketFinding {
        guard let server = state.serverDate else {
            return .init(.warn, "clock", "the endpoint sent no Date header: skew unknown")
        }
        let skew = state.localDate.timeIntervalSince(server)
        let text = "local clock \(abs(Int(skew))) s \(skew >= 0 ? "ahead of" : "behind") the endpoint's"
        if abs(skew) > skewFailure {
            return .init(.fail, "clock", text, breaks: "every signed request and upload URL (RequestTimeTooSkewed, or URLs expired or not yet valid)",
                         fix: "synchronise this machine's clock (NTP: timedatectl set-ntp true)")
        }
        if abs(skew) > skewWarning {
            return .init(.warn, "clock", text, breaks: "URLs lose \(abs(Int(skew))) s of their lifetime; past 15 minutes every request fails",
                         fix: "synchronise this machine's clock (NTP: timedatectl set-ntp true)")
        }
        return .init(.ok, "clock", text)
    }

    static func corsFindings(_ state: BucketState, wants: BucketWants, fix: String) -> [BucketFinding] {
        switch state.cors {
        case let .value(rules):
            let problems = CORSRules.problems(rules, wants: wants)
            if problems.isEmpty { return [.init(.ok, "cors", "\(wants.origins.joined(separator: ", ")) may PUT; ETag exposed")] }
            var out = problems.blocking.map {
                BucketFinding(.fail, "cors", $0, breaks: "browser uploads from the app's pages", fix: fix)
            }
            out += problems.other.map { BucketFinding(.warn, "cors", $0, breaks: "less than the full rule (downloads, forms, preflight caching)", fix: fix) }
            return out
        case let .notSupported(why):
            return [.init(.fail, "cors", "not supported by this endpoint (\(why))", breaks: "browser uploads: they need CORS",
                          fix: "use an endpoint with CORS, or serve the pages from the storage origin")]
        case let .failed(why):
            return [.init(.fail, "cors", "could not be read: \(why)", breaks: "unknown: browser uploads may be refused", fix: fix)]
        case .notRead:
            return []
        }
    }

    static func probeFindings(_ probe: BucketProbeReport, wants: BucketWants, fix: String) -> [BucketFinding] {
        var out: [BucketFinding] = []
        for origin in wants.origins.filter({ $0 != "*" }) {
            switch probe.preflight[origin] ?? .notRun("no preflight sent") {
            case let .passed(detail): out.append(.init(.ok, "preflight", "\(origin): \(detail)"))
            case let .failed(detail): out.append(.init(.fail, "preflight", "\(origin): \(detail)", breaks: "browser uploads from \(origin)", fix: fix))
            case let .notRun(detail): out.append(.init(.warn, "preflight", "\(origin): not sent (\(detail))"))
            }
        }
        switch probe.etagReadable {
        case let .passed(detail): out.append(.init(.ok, "etag-readable", detail))
        case let .failed(detail):
            out.append(.init(.fail, "etag-readable", detail, breaks: "the page cannot read ETag after an upload (multipart completion, integrity checks)", fix: fix))
        case let .notRun(detail): out.append(.init(.warn, "etag-readable", "not checked (\(detail))"))
        }
        switch probe.roundTrip {
        case let .passed(detail): out.append(.init(.ok, "probe", detail))
        case let .failed(detail):
            out.append(.init(.fail, "probe", detail, breaks: "upload URLs signed by these credentials",
                             fix: "give the signing identity s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket (hoist iam-policy api), and check the endpoint"))
        case let .notRun(detail): out.append(.init(.warn, "probe", "not run (\(detail))"))
        }
        return out
    }

    static func judge<V>(_ observed: Observed<V>, _ check: String, fix: String, _ body: (V) -> BucketFinding) -> BucketFinding {
        switch observed {
        case let .value(v): return body(v)
        case let .notSupported(why): return .init(.warn, check, "not supported by this endpoint (\(why))")
        case let .failed(why): return .init(.warn, check, "could not be read: \(why)", fix: fix)
        case .notRead: return .init(.warn, check, "not read")
        }
    }
}
