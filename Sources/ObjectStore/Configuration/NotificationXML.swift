import Events
import Foundation

/// S3's `<NotificationConfiguration>` document, read and written.
///
/// The store delivers to queues only (its outbox, named by the queue ARN's
/// last field); topic, Lambda and EventBridge destinations are refused.
package enum NotificationXML {
    /// Parses and validates a `PutBucketNotificationConfiguration` body.
    /// - Throws: ``S3Error`` `MalformedXML`, `InvalidArgument` (unknown event,
    ///   filter rule, or destination), `NotImplemented` (non-queue destinations).
    package static func parse(_ data: Data) throws -> NotificationConfiguration {
        let root = try XMLTree.parse(data)
        guard root.name == "NotificationConfiguration" else {
            throw S3Error(.malformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
        }
        var rules: [NotificationConfiguration.QueueRule] = []
        for node in root.children {
            switch node.name {
            case "QueueConfiguration":
                rules.append(try queueRule(node, index: rules.count))
            case "TopicConfiguration", "CloudFunctionConfiguration", "LambdaFunctionConfiguration", "EventBridgeConfiguration":
                throw S3Error(.notImplemented, "\(node.name) destinations are not implemented by this store; use QueueConfiguration.")
            default:
                throw S3Error(.malformedXML, "Unexpected element \(node.name) in NotificationConfiguration.")
            }
        }
        var ids = Set<String>()
        for rule in rules where !ids.insert(rule.id).inserted {
            throw S3Error(.invalidArgument, "Configuration Id '\(rule.id)' is used more than once.")
        }
        return NotificationConfiguration(queues: rules)
    }

    private static func queueRule(_ node: XMLTree, index: Int) throws -> NotificationConfiguration.QueueRule {
        let trim = { (text: String) in text.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard let queue = node.child("Queue").map({ trim($0.text) }), !queue.isEmpty else {
            throw S3Error(.invalidArgument, "A QueueConfiguration needs a Queue ARN.")
        }
        let fields = queue.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0] == "arn", fields[2] == "sqs", !fields[5].isEmpty else {
            throw S3Error(.invalidArgument, "The Queue '\(queue)' is not a queue ARN (arn:aws:sqs:<region>:<account>:<name>).")
        }
        let events = node.children(named: "Event").map { trim($0.text) }
        guard !events.isEmpty else {
            throw S3Error(.invalidArgument, "A QueueConfiguration needs at least one Event.")
        }
        for event in events where !NotificationConfiguration.knownEvents.contains(event) {
            throw S3Error(.invalidArgument, "The event '\(event)' is not supported for notification.")
        }
        var prefix: String?, suffix: String?
        for rule in node.child("Filter")?.child("S3Key")?.children(named: "FilterRule") ?? [] {
            let value = rule.child("Value")?.text ?? ""
            switch trim(rule.child("Name")?.text ?? "").lowercased() {
            case "prefix" where prefix == nil: prefix = value
            case "suffix" where suffix == nil: suffix = value
            case "prefix", "suffix":
                throw S3Error(.invalidArgument, "Cannot specify more than one prefix or suffix rule in a filter.")
            default:
                throw S3Error(.invalidArgument, "FilterRule names must be prefix or suffix.")
            }
        }
        let id = node.child("Id").map { trim($0.text) }.flatMap { $0.isEmpty ? nil : $0 } ?? "notification-\(index + 1)"
        return .init(id: id, queueARN: queue, events: events, prefix: prefix ?? "", suffix: suffix ?? "")
    }

    /// The configuration as S3 returns it (an empty document when none is set).
    static func render(_ configuration: NotificationConfiguration?) -> String {
        var x = XMLWriter()
        x.element("NotificationConfiguration", namespace: true) { x in
            for rule in configuration?.queues ?? [] {
                x.element("QueueConfiguration") { x in
                    x.leaf("Id", rule.id)
                    x.leaf("Queue", rule.queueARN)
                    for event in rule.events { x.leaf("Event", event) }
                    if !rule.prefix.isEmpty || !rule.suffix.isEmpty {
                        x.element("Filter") { x in
                            x.element("S3Key") { x in
                                if !rule.prefix.isEmpty {
                                    x.element("FilterRule") { x in x.leaf("Name", "Prefix"); x.leaf("Value", rule.prefix) }
                                }
                                if !rule.suffix.isEmpty {
                                    x.element("FilterRule") { x in x.leaf("Name", "Suffix"); x.leaf("Value", rule.suffix) }
                                }
                            }
                        }
                    }
                }
            }
        }
        return x.document
    }
}
