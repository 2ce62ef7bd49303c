import Foundation
import S3

/// What is wrong with one setting, split by consequence: `blocking` problems break browser uploads,
/// `other` problems weaken the bucket but uploads work.
struct SettingProblems: Sendable, Equatable {
    var blocking: [String] = []
    var other: [String] = []
    var isEmpty: Bool { blocking.isEmpty && other.isEmpty }
    var all: [String] { blocking + other }
}

/// The CORS rules against what a browser upload from each origin needs, as S3 evaluates them: for a
/// request, the first rule whose origin, method and headers all match is the one that answers.
enum CORSRules {
    /// Whether `pattern` (with at most one `*`, as S3 allows) matches `value`.
    static func matches(_ pattern: String, _ value: String, caseInsensitive: Bool) -> Bool {
        let p = caseInsensitive ? pattern.lowercased() : pattern
        let v = caseInsensitive ? value.lowercased() : value
        guard let star = p.firstIndex(of: "*") else { return p == v }
        let head = p[..<star], tail = p[p.index(after: star)...]
        return v.count >= head.count + tail.count && v.hasPrefix(head) && v.hasSuffix(tail)
    }

    static func allowsOrigin(_ rule: S3CORSRule, _ origin: String) -> Bool {
        rule.allowedOrigins.contains { matches($0, origin, caseInsensitive: false) }
    }

    static func allowsHeader(_ rule: S3CORSRule, _ header: String) -> Bool {
        rule.allowedHeaders.contains { matches($0, header, caseInsensitive: true) }
    }

    static func exposes(_ rule: S3CORSRule, _ header: String) -> Bool {
        rule.exposeHeaders.contains { $0.caseInsensitiveCompare(header) == .orderedSame }
    }

    /// The rule S3 answers an upload's preflight from `origin` with, if any.
    static func uploadRule(_ rules: [S3CORSRule], origin: String) -> S3CORSRule? {
        rules.first { rule in
            allowsOrigin(rule, origin) && rule.allowedMethods.contains("PUT")
                && WantsHeaders.preflight.allSatisfy { allowsHeader(rule, $0) }
        }
    }

    /// The problems of `rules` for `wants`' origins.
    static func problems(_ rules: [S3CORSRule], wants: BucketWants) -> SettingProblems {
        var p = SettingProblems()
        if rules.isEmpty {
            p.blocking.append("the bucket has no CORS rules: browsers refuse every upload from the app's pages")
            return p
        }
        if !wants.allowsAnyOrigin, rules.contains(where: { $0.allowedOrigins.contains("*") }) {
            p.blocking.append("a rule allows every origin (*): any web site can drive uploads and read responses with a leaked URL")
        }
        if wants.origins.isEmpty {
            p.blocking.append("no app origin is configured (HOIST_CORS_ORIGINS or --origin): nothing to check the rules against")
        }
        for origin in wants.origins {
            guard let rule = uploadRule(rules, origin: origin) else {
                if let partial = rules.first(where: { allowsOrigin($0, origin) && $0.allowedMethods.contains("PUT") }) {
                    let missing = WantsHeaders.preflight.filter { !allowsHeader(partial, $0) }
                    p.blocking.append("\(origin) may PUT but not with the headers upload URLs bind (\(missing.joined(separator: ", ")))")
                } else if rules.contains(where: { allowsOrigin($0, origin) }) {
                    p.blocking.append("\(origin) is allowed, but not to PUT")
                } else {
                    p.blocking.append("no rule allows \(origin)")
                }
                continue
            }
            if !exposes(rule, "ETag") {
                p.blocking.append("the rule for \(origin) does not expose ETag: the page cannot read the stored object's ETag")
            }
            if !exposes(rule, "x-amz-version-id") {
                p.other.append("the rule for \(origin) does not expose x-amz-version-id")
            }
            let methods = BucketWants.corsMethods.filter { !rule.allowedMethods.contains($0) }
            if !methods.isEmpty {
                p.other.append("the rule for \(origin) lacks \(methods.joined(separator: ", "))")
            }
            if rule.maxAgeSeconds == nil {
                p.other.append("the rule for \(origin) has no MaxAgeSeconds: every upload pays a preflight")
            }
        }
        return p
    }

    /// The rules setup writes: Hoist's rule first (S3 uses the first match), then the others but
    /// an earlier Hoist rule and, unless asked for, wildcard-origin rules.
    static func merged(_ rules: [S3CORSRule], wants: BucketWants) -> [S3CORSRule] {
        [wants.corsRule] + rules.filter { rule in
            rule.id != BucketWants.corsRuleID && (wants.allowsAnyOrigin || !rule.allowedOrigins.contains("*"))
        }
    }
}

/// Header lists, for one place to change them.
enum WantsHeaders {
    static let preflight = BucketWants.preflightHeaders
}

/// The lifecycle rules against Hoist's three.
enum LifecycleRules {
    enum Part: String, CaseIterable, Sendable {
        case abort, noncurrent, quarantine
    }

    static func has(_ part: Part, in rules: [S3LifecycleRule], wants: BucketWants) -> Bool {
        rules.contains { rule in
            guard rule.enabled else { return false }
            switch part {
            case .abort: return rule.prefix == "" && rule.abortIncompleteMultipartUploadDays == 1
            case .noncurrent: return rule.prefix == "" && rule.noncurrentVersionExpirationDays == wants.retentionDays
            case .quarantine: return rule.prefix == BucketWants.quarantinePrefix && rule.expirationDays == wants.retentionDays
            }
        }
    }

    static func missing(_ rules: [S3LifecycleRule], wants: BucketWants) -> [Part] {
        Part.allCases.filter { !has($0, in: rules, wants: wants) }
    }

    static func describe(_ part: Part, wants: BucketWants) -> String {
        switch part {
        case .abort: "AbortIncompleteMultipartUpload after 1 day"
        case .noncurrent: "NoncurrentVersionExpiration after \(wants.retentionDays) days"
        case .quarantine: "expire \(BucketWants.quarantinePrefix) after \(wants.retentionDays) days"
        }
    }

    /// The rules setup writes: the others kept as read, then Hoist's three (`without` left out).
    static func merged(_ rules: [S3LifecycleRule], wants: BucketWants, without: Set<String> = []) -> [S3LifecycleRule] {
        let ours: Set<String?> = [BucketWants.abortRuleID, BucketWants.noncurrentRuleID, BucketWants.quarantineRuleID]
        return rules.filter { !ours.contains($0.id) } + wants.lifecycleRules.filter { !without.contains($0.id ?? "") }
    }
}

/// The event notifications against the worker's queue.
enum NotificationRules {
    static func covers(_ queue: S3NotificationConfiguration.Queue, arn: String?) -> Bool {
        (arn == nil || queue.queueArn == arn)
            && queue.events.contains { $0 == BucketWants.createdEvent || $0 == "s3:ObjectCreated:Put" }
            && [nil, "", BucketWants.uploadsPrefix].contains(queue.prefix) && (queue.suffix ?? "").isEmpty
    }

    /// Whether new uploads under `articles/` reach `arn` (any destination when `nil`).
    static func isWanted(_ configuration: S3NotificationConfiguration, arn: String?) -> Bool {
        if configuration.queues.contains(where: { covers($0, arn: arn) }) { return true }
        guard arn == nil else { return false }
        return configuration.otherDestinations.contains { other in
            other.events.contains { $0.hasPrefix("s3:ObjectCreated:") } && [nil, "", BucketWants.uploadsPrefix].contains(other.prefix)
        }
    }

    static func merged(_ configuration: S3NotificationConfiguration, arn: String) -> S3NotificationConfiguration {
        var out = configuration
        out.queues.removeAll { $0.id == BucketWants.notificationID }
        out.queues.append(.init(id: BucketWants.notificationID, queueArn: arn, events: [BucketWants.createdEvent],
                                prefix: BucketWants.uploadsPrefix))
        return out
    }
}
