import Foundation
import Logging
import Prometheus
import ServiceLifecycle

/// Hoist's metrics in CloudWatch's Embedded Metric Format on standard output (`HOIST_METRICS_EMF=on`):
/// one JSON document per interval that CloudWatch Logs turns into metrics, so a container on AWS
/// (ECS, Lambda) gets them without an agent. Namespace `Hoist`, dimension `Service` (`api`,
/// `worker`, `serve`).
///
/// Read from the process's Prometheus registry (the same figures `/metrics` shows); counters are
/// reported as what happened during the interval:
///
/// | EMF metric | from |
/// |---|---|
/// | `UploadURLsIssued`, `UploadURLsRefused` (Count) | `hoist_upload_url_requests_total` by outcome |
/// | `UploadsProcessed`, `UploadsRejected` (Count) | `hoist_uploads_total` by outcome |
/// | `UploadSuccessRate` (Percent) | processed / (processed + rejected), when any |
/// | `TimeToUpload`, `TimeToProcess` (Seconds, mean) | `hoist_upload_to_uploaded_seconds`, `hoist_upload_to_processed_seconds` |
/// | `ObjectPuts` (Count) | `hoist_object_puts_seen_total` |
/// | `WorkerFailures` (Count) | `hoist_worker_failures_total` (retried, and finally dead-lettered, events) |
/// | `QueueDepth` (Count) | `hoist_queue_depth` |
struct EMFReporter: Service {
    let registry: PrometheusCollectorRegistry
    let service: String
    let interval: Duration
    let write: @Sendable (String) -> Void

    init(registry: PrometheusCollectorRegistry, service: String, interval: Duration = .seconds(60),
         write: @escaping @Sendable (String) -> Void = { line in
             FileHandle.standardOutput.write(Data((line + "\n").utf8))
         }) {
        self.registry = registry
        self.service = service
        self.interval = interval
        self.write = write
    }

    func run() async throws {
        var previous = Self.samples(String(decoding: registry.emitToBuffer(), as: UTF8.self))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { break }
            let current = Self.samples(String(decoding: registry.emitToBuffer(), as: UTF8.self))
            write(Self.document(service: service, now: Date(), current: current, previous: previous))
            previous = current
        }
    }

    /// The samples of a Prometheus text exposition: `name{labels}` → value (lines that do not
    /// parse are skipped).
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    /// One EMF document: the interval's figures (`current` minus `previous` for counters).
    static func document(service: String, now: Date, current: [String: Double], previous: [String: Double]) -> String {
        func delta(_ predicate: (String) -> Bool) -> Double {
            current.filter { predicate($0.key) }.reduce(0) { $0 + max(0, $1.value - (previous[$1.key] ?? 0)) }
        }
        func exact(_ name: String) -> (String) -> Bool { { $0 == name } }
        let issued = delta { $0 == #"hoist_upload_url_requests_total{outcome="issued"}"# }
        let refused = delta { $0.hasPrefix("hoist_upload_url_requests_total{") && !$0.contains(#"outcome="issued""#) }
        let processed = delta(exact(#"hoist_uploads_total{outcome="processed"}"#))
        let rejected = delta(exact(#"hoist_uploads_total{outcome="rejected"}"#))
        var metrics: [(name: String, unit: String, value: Double)] = [
            ("UploadURLsIssued", "Count", issued), ("UploadURLsRefused", "Count", refused),
            ("UploadsProcessed", "Count", processed), ("UploadsRejected", "Count", rejected),
            ("ObjectPuts", "Count", delta { $0.hasPrefix("hoist_object_puts_seen_total") }),
            ("WorkerFailures", "Count", delta { $0.hasPrefix("hoist_worker_failures_total") }),
        ]
        if processed + rejected > 0 {
            metrics.append(("UploadSuccessRate", "Percent", (processed / (processed + rejected) * 1000).rounded() / 10))
        }
        for (name, series) in [("TimeToUpload", "hoist_upload_to_uploaded_seconds"), ("TimeToProcess", "hoist_upload_to_processed_seconds")] {
            let count = delta { $0.hasPrefix(series + "_count") }
            let sum = delta { $0.hasPrefix(series + "_sum") }
            if count > 0 { metrics.append((name, "Seconds", (sum / count * 1000).rounded() / 1000)) }
        }
        if let depth = current.first(where: { $0.key.hasPrefix("hoist_queue_depth") })?.value {
            metrics.append(("QueueDepth", "Count", depth))
        }
        let definitions = metrics.map { "{\"Name\":\"\($0.name)\",\"Unit\":\"\($0.unit)\"}" }.joined(separator: ",")
        let values = metrics.map { "\"\($0.name)\":\(Self.number($0.value))" }.joined(separator: ",")
        let timestamp = Int64((now.timeIntervalSince1970 * 1000).rounded())
        return "{\"_aws\":{\"Timestamp\":\(timestamp),\"CloudWatchMetrics\":[{\"Namespace\":\"Hoist\",\"Dimensions\":[[\"Service\"]],"
            + "\"Metrics\":[\(definitions)]}]},\"Service\":\"\(service)\",\(values)}"
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}

extension HoistConfiguration {
    /// The EMF reporter of `service` when `HOIST_METRICS_EMF=on`.
    func emfReporter(registry: PrometheusCollectorRegistry, service: String) -> EMFReporter? {
        metricsEMF ? EMFReporter(registry: registry, service: service, interval: .seconds(metricsEMFInterval)) : nil
    }
}
