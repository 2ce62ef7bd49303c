import Foundation
@testable import HoistServer
import Metrics
import Prometheus
import Synchronization
import Testing

/// CloudWatch Embedded Metric Format documents from the Prometheus registry.
@Suite("EMF metrics")
struct EMFReporterTests {
    @Test("one document per interval: what happened meanwhile, in EMF's shape")
    func document() throws {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        let issued = Counter(label: "hoist_upload_url_requests_total", dimensions: [("outcome", "issued")], factory: factory)
        let limited = Counter(label: "hoist_upload_url_requests_total", dimensions: [("outcome", "rate_limited")], factory: factory)
        let processed = Counter(label: "hoist_uploads_total", dimensions: [("outcome", "processed")], factory: factory)
        let rejected = Counter(label: "hoist_uploads_total", dimensions: [("outcome", "rejected")], factory: factory)
        let toProcessed = Timer(label: "hoist_upload_to_processed_seconds", dimensions: [], factory: factory)
        issued.increment(by: 5)
        let before = EMFReporter.samples(String(decoding: registry.emitToBuffer(), as: UTF8.self))
        issued.increment(by: 3)
        limited.increment(by: 2)
        processed.increment(by: 3)
        rejected.increment()
        toProcessed.recordSeconds(2)
        toProcessed.recordSeconds(4)
        let after = EMFReporter.samples(String(decoding: registry.emitToBuffer(), as: UTF8.self))
        let text = EMFReporter.document(service: "api", now: Date(timeIntervalSince1970: 1_800_000_000), current: after, previous: before)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let aws = try #require(json["_aws"] as? [String: Any])
        #expect(aws["Timestamp"] as? Int == 1_800_000_000_000)
        let directive = try #require((aws["CloudWatchMetrics"] as? [[String: Any]])?.first)
        #expect(directive["Namespace"] as? String == "Hoist")
        #expect(directive["Dimensions"] as? [[String]] == [["Service"]])
        let names = Set(((directive["Metrics"] as? [[String: String]]) ?? []).compactMap { $0["Name"] })
        #expect(names.isSuperset(of: ["UploadURLsIssued", "UploadURLsRefused", "UploadsProcessed", "UploadsRejected", "UploadSuccessRate",
                                      "TimeToProcess"]))
        // Every metric the directive names has its value at the top level (EMF's rule).
        for name in names { #expect(json[name] != nil, "\(name)") }
        #expect(json["Service"] as? String == "api")
        #expect(json["UploadURLsIssued"] as? Int == 3, "the interval's, not the total")
        #expect(json["UploadURLsRefused"] as? Int == 2)
        #expect(json["UploadSuccessRate"] as? Double == 75)
        #expect(json["TimeToProcess"] as? Int == 3)
    }

    @Test("the reporter writes a document each interval until the service stops")
    func runs() async throws {
        let registry = PrometheusCollectorRegistry()
        let lines = Mutex<[String]>([])
        let reporter = EMFReporter(registry: registry, service: "worker", interval: .milliseconds(50)) { line in
            lines.withLock { $0.append(line) }
        }
        let task = Task { try await reporter.run() }
        // Until two documents are out (a loaded machine may take a while to schedule it).
        let deadline = ContinuousClock.now + .seconds(30)
        while lines.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        task.cancel()
        _ = try? await task.value
        let written = lines.withLock { $0 }
        #expect(written.count >= 2)
        #expect(written.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil })
    }
}
