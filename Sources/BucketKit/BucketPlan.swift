import Foundation
import S3

/// A write setup makes to the bucket.
public enum BucketChange: Sendable, Equatable {
    case cors([S3CORSRule])
    case versioning
    case encryption(S3BucketEncryption)
    /// The settings wanted, and the ones before (restored if the endpoint then refuses uploads).
    case publicAccessBlock(S3PublicAccessBlock, previous: S3PublicAccessBlock?)
    case policy(String)
    /// The rules, and the rules to try when the endpoint refuses a lifecycle action (`NotImplemented`):
    /// the same without NoncurrentVersionExpiration, which some stores lack.
    case lifecycle([S3LifecycleRule], fallback: [S3LifecycleRule]?)
    case notification(S3NotificationConfiguration)
}

/// One step of setup's plan for one setting.
public enum BucketStep: Sendable, Equatable {
    /// Already as wanted: what it is.
    case ok(BucketSetting, String)
    /// To change: what changes (from what), and the write.
    case change(BucketSetting, String, BucketChange)
    /// The endpoint does not implement the setting: what it answered.
    case unsupported(BucketSetting, String)
    /// Left alone on purpose: why.
    case skipped(BucketSetting, String)
    /// The current state could not be read, so nothing is changed: why.
    case failed(BucketSetting, String)

    /// The setting of the step.
    public var setting: BucketSetting {
        switch self {
        case let .ok(s, _), let .change(s, _, _), let .unsupported(s, _), let .skipped(s, _), let .failed(s, _): s
        }
    }
}

/// Setup's plan: from the bucket's current state to the wanted one, one step per setting, reading
/// nothing and writing nothing itself.
///
/// ```swift
/// let steps = BucketPlan.steps(from: state, to: wants)
/// ```
public enum BucketPlan {
    /// The steps, in ``BucketSetting`` order, for the settings of `wants.only`.
    public static func steps(from state: BucketState, to wants: BucketWants) -> [BucketStep] {
        wants.only.sorted().map { step(for: $0, state: state, wants: wants) }
    }

    static func step(for setting: BucketSetting, state: BucketState, wants: BucketWants) -> BucketStep {
        switch setting {
        case .cors:
            return read(state.cors, setting) { rules in
                let problems = CORSRules.problems(rules, wants: wants)
                if problems.isEmpty {
                    return .ok(.cors, "CORS already as wanted for \(wants.origins.joined(separator: ", "))")
                }
                return .change(.cors, "CORS rule \(BucketWants.corsRuleID) for \(wants.origins.joined(separator: ", ")) "
                               + "(PUT POST GET HEAD, expose ETag x-amz-version-id, max age \(BucketWants.corsMaxAge)); was: "
                               + problems.all.joined(separator: "; "),
                               .cors(CORSRules.merged(rules, wants: wants)))
            }
        case .versioning:
            return read(state.versioning, setting) { status in
                status == "Enabled" ? .ok(.versioning, "versioning already as wanted (Enabled)")
                    : .change(.versioning, "versioning Enabled (was \(status ?? "never enabled"))", .versioning)
            }
        case .encryption:
            return read(state.encryption, setting) { current in
                let wanted = wants.encryption
                if let current, encryptionSatisfies(current, wanted) {
                    return .ok(.encryption, "default encryption already as wanted (\(describe(current)))")
                }
                return .change(.encryption, "default encryption \(describe(wanted)) (was \(current.map(describe) ?? "none"))",
                               .encryption(wanted))
            }
        case .publicAccess:
            return read(state.publicAccess, setting) { current in
                if current?.isAllBlocked == true { return .ok(.publicAccess, "Block Public Access already as wanted (all four on)") }
                return .change(.publicAccess, "Block Public Access all on (was \(current.map(describe) ?? "not configured"))",
                               .publicAccessBlock(.allBlocked, previous: current))
            }
        case .tlsPolicy:
            guard wants.endpointUsesTLS else {
                return .skipped(.tlsPolicy, "the endpoint is plain http: a policy denying non-TLS requests would refuse every request to it")
            }
            return read(state.policy, setting) { json in
                do {
                    if try TLSPolicy.isPresent(in: json, bucket: wants.bucket) {
                        return .ok(.tlsPolicy, "TLS-only policy already as wanted")
                    }
                    return .change(.tlsPolicy, "bucket policy statement \(BucketWants.tlsStatementID) denying non-TLS requests"
                                   + (json == nil ? " (no policy before)" : " (added to the existing policy)"),
                                   .policy(try TLSPolicy.merged(json, bucket: wants.bucket)))
                } catch {
                    return .failed(.tlsPolicy, "\(error): left as it is")
                }
            }
        case .lifecycle:
            return read(state.lifecycle, setting) { rules in
                let missing = LifecycleRules.missing(rules, wants: wants)
                if missing.isEmpty {
                    return .ok(.lifecycle, "lifecycle already as wanted (abort incomplete uploads after 1 day, "
                               + "noncurrent versions and \(BucketWants.quarantinePrefix) after \(wants.retentionDays) days)")
                }
                // Without NoncurrentVersionExpiration, for stores that lack it; nothing else to write when it is all that is missing.
                let fallback = missing == [.noncurrent] ? nil : LifecycleRules.merged(rules, wants: wants, without: [BucketWants.noncurrentRuleID])
                return .change(.lifecycle, "rules " + missing.map { LifecycleRules.describe($0, wants: wants) }.joined(separator: "; "),
                               .lifecycle(LifecycleRules.merged(rules, wants: wants), fallback: fallback))
            }
        case .notification:
            guard let arn = wants.queueArn else {
                return .skipped(.notification, "no --queue-arn: event notifications left as they are")
            }
            return read(state.notification, setting) { configuration in
                if NotificationRules.isWanted(configuration, arn: arn) {
                    return .ok(.notification, "notification already as wanted (\(BucketWants.createdEvent) under \(BucketWants.uploadsPrefix) to \(arn))")
                }
                return .change(.notification, "notification \(BucketWants.createdEvent) under \(BucketWants.uploadsPrefix) to \(arn)",
                               .notification(NotificationRules.merged(configuration, arn: arn)))
            }
        }
    }

    static func read<V>(_ observed: Observed<V>, _ setting: BucketSetting, _ plan: (V) -> BucketStep) -> BucketStep {
        switch observed {
        case let .value(v): plan(v)
        case let .notSupported(why): .unsupported(setting, why)
        case let .failed(why): .failed(setting, "could not read the current setting: \(why)")
        case .notRead: .failed(setting, "the current setting was not read")
        }
    }

    static func encryptionSatisfies(_ current: S3BucketEncryption, _ wanted: S3BucketEncryption) -> Bool {
        guard let key = wanted.kmsKeyId else {
            return current.algorithm == "AES256" || current.algorithm.hasPrefix("aws:kms")
        }
        guard current.algorithm.hasPrefix("aws:kms"), let have = current.kmsKeyId else { return false }
        return have == key || have.hasSuffix("/\(key)") || key.hasSuffix("/\(have)")
    }

    static func describe(_ e: S3BucketEncryption) -> String {
        e.algorithm == "AES256" ? "SSE-S3 AES256" : "\(e.algorithm)\(e.kmsKeyId.map { " key \($0)" } ?? "")"
    }

    static func describe(_ b: S3PublicAccessBlock) -> String {
        let off = [("BlockPublicAcls", b.blockPublicAcls), ("IgnorePublicAcls", b.ignorePublicAcls),
                   ("BlockPublicPolicy", b.blockPublicPolicy), ("RestrictPublicBuckets", b.restrictPublicBuckets)]
            .filter { !$0.1 }.map(\.0)
        return off.isEmpty ? "all on" : "off: " + off.joined(separator: ", ")
    }
}
