import Foundation
import S3

/// One line of setup's output.
public struct SetupLine: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Already as wanted.
        case ok
        /// Changed.
        case set
        /// Would change (`--dry-run`).
        case plan
        /// Not supported by the endpoint, or a part of it was not.
        case warn
        /// Left alone on purpose.
        case skip
        /// Failed.
        case fail = "FAIL"
    }

    public var status: Status
    public var setting: BucketSetting
    public var text: String

    public init(_ status: Status, _ setting: BucketSetting, _ text: String) {
        self.status = status
        self.setting = setting
        self.text = text
    }

    /// `status: text`.
    public var line: String {
        switch status {
        case .ok: "ok: \(text)"
        default: "\(status.rawValue): \(setting.rawValue): \(text)"
        }
    }
}

/// Applies setup's plan: each change as one S3 call; an endpoint that does not implement a setting
/// gets a warning, not a failure.
///
/// ```swift
/// let state = await BucketInspector(s3: s3).state(of: wants)
/// let lines = await BucketSetup(s3: s3).apply(BucketPlan.steps(from: state, to: wants), bucket: wants.bucket, dryRun: false)
/// ```
public struct BucketSetup: Sendable {
    public let s3: S3Client
    /// Checks that a pre-signed upload still works (`nil`) or says why not; run after Block Public
    /// Access is turned on, because some endpoints (Ceph RGW 16) then refuse every PUT without an ACL.
    public let uploadCheck: (@Sendable () async -> String?)?

    public init(s3: S3Client, uploadCheck: (@Sendable () async -> String?)? = nil) {
        self.s3 = s3
        self.uploadCheck = uploadCheck
    }

    /// Runs the steps in order and answers one line per setting (two when a part was not supported).
    public func apply(_ steps: [BucketStep], bucket: String, dryRun: Bool) async -> [SetupLine] {
        var lines: [SetupLine] = []
        for step in steps {
            switch step {
            case let .ok(_, text): lines.append(.init(.ok, step.setting, text))
            case let .skipped(setting, why): lines.append(.init(.skip, setting, why))
            case let .unsupported(setting, why): lines.append(.init(.warn, setting, "not supported by this endpoint (\(why))"))
            case let .failed(setting, why): lines.append(.init(.fail, setting, why))
            case let .change(setting, text, change):
                if dryRun {
                    lines.append(.init(.plan, setting, text))
                } else {
                    lines += await write(change, setting: setting, text: text, bucket: bucket)
                }
            }
        }
        return lines
    }

    func write(_ change: BucketChange, setting: BucketSetting, text: String, bucket: String) async -> [SetupLine] {
        do {
            try await put(change, bucket: bucket)
            if case let .publicAccessBlock(wanted, previous) = change, let uploadCheck, let refusal = await uploadCheck() {
                return await publicAccessFallback(wanted: wanted, previous: previous, refusal: refusal, text: text, bucket: bucket,
                                                  check: uploadCheck)
            }
            return [.init(.set, setting, text)]
        } catch {
            if case .encryption = change, let e = error as? S3ClientError, e.code.rawValue == "InvalidArgument" {
                // Ceph RGW answers InvalidArgument when no SSE-S3 / KMS backend is configured.
                return [.init(.warn, setting, "not supported by this endpoint (\(BucketErrors.describe(error)); its server-side encryption is not configured)")]
            }
            guard BucketErrors.isUnsupported(error) else { return [.init(.fail, setting, BucketErrors.describe(error))] }
            if case let .lifecycle(_, fallback?) = change {
                do {
                    try await put(.lifecycle(fallback, fallback: nil), bucket: bucket)
                    return [.init(.set, setting, "\(text) (written without NoncurrentVersionExpiration)"),
                            .init(.warn, setting, "NoncurrentVersionExpiration not supported by this endpoint (\(BucketErrors.describe(error)))")]
                } catch {
                    return [.init(BucketErrors.isUnsupported(error) ? .warn : .fail, setting,
                                  BucketErrors.isUnsupported(error) ? "not supported by this endpoint (\(BucketErrors.describe(error)))"
                                      : BucketErrors.describe(error))]
                }
            }
            return [.init(.warn, setting, "not supported by this endpoint (\(BucketErrors.describe(error)))")]
        }
    }

    /// Block Public Access made uploads fail: try without BlockPublicAcls, else put back what was there.
    func publicAccessFallback(wanted: S3PublicAccessBlock, previous: S3PublicAccessBlock?, refusal: String, text: String, bucket: String,
                              check: @Sendable () async -> String?) async -> [SetupLine] {
        var partial = wanted
        partial.blockPublicAcls = false
        let restore = previous ?? S3PublicAccessBlock(blockPublicAcls: false, ignorePublicAcls: false, blockPublicPolicy: false, restrictPublicBuckets: false)
        do {
            try await s3.putPublicAccessBlock(bucket, partial)
            if await check() == nil {
                let warning = SetupLine(.warn, .publicAccess, "BlockPublicAcls not supported by this endpoint: with it on, a pre-signed upload "
                                        + "answered \(refusal); left off, the other three on")
                return previous == partial ? [warning] : [.init(.set, .publicAccess, "Block Public Access on but BlockPublicAcls"), warning]
            }
            try await s3.putPublicAccessBlock(bucket, restore)
        } catch {
            return [.init(.fail, .publicAccess, "uploads failed with Block Public Access on (\(refusal)), and restoring it failed: \(BucketErrors.describe(error))")]
        }
        return [.init(.warn, .publicAccess, "not supported by this endpoint: with Block Public Access on, a pre-signed upload answered \(refusal); put back as it was")]
    }

    func put(_ change: BucketChange, bucket: String) async throws {
        switch change {
        case let .cors(rules): try await s3.putBucketCORS(bucket, rules: rules)
        case .versioning: try await s3.putBucketVersioning(bucket, enabled: true)
        case let .encryption(e): try await s3.putBucketEncryption(bucket, e)
        case let .publicAccessBlock(b, _): try await s3.putPublicAccessBlock(bucket, b)
        case let .policy(json): try await s3.putBucketPolicy(bucket, json: json)
        case let .lifecycle(rules, _): try await s3.putBucketLifecycle(bucket, rules: rules)
        case let .notification(configuration): try await s3.putBucketNotification(bucket, configuration)
        }
    }

    /// `1` when a line failed, else `0`.
    public static func exitStatus(_ lines: [SetupLine]) -> Int32 {
        lines.contains { $0.status == .fail } ? 1 : 0
    }
}
