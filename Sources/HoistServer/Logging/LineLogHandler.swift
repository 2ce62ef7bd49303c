#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import Synchronization

/// The `hoist` commands' log handler: one line per message on standard error,
/// `<time> <level> <label>: <key=value …> [<source>] <message>`.
///
/// Metadata is rendered when a message is written, not when it is set. Hummingbird
/// sets a request id on a copy of the logger for every request, and swift-log's
/// `StreamLogHandler` renders all metadata again on each set; that cost every
/// request (API and store alike) several microseconds though most are never logged.
public struct LineLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    public init(label: String) {
        self.label = label
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var explicit = event.metadata
        if let error = event.error { explicit = (explicit ?? [:]).merging(["error": "\(error)"]) { current, _ in current } }
        Self.emit(render(level: event.level, message: event.message, metadata: explicit, source: event.source, time: Self.timestamp()))
    }

    /// The line for a message: this logger's metadata with the message's own on top, sorted by key.
    func render(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, time: String) -> String {
        var merged = metadata
        if let explicit { merged.merge(explicit) { $1 } }
        var text = time + " \(level) \(label):"
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            text += " \(key)=\(value)"
        }
        return text + " [\(source)] \(message)\n"
    }

    /// Local time, `2026-11-29T22:48:29+0000`.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whole lines from concurrent loggers never interleave.
    private static let output = Mutex(())

    static func emit(_ text: String) {
        output.withLock { _ in
            var text = text
            text.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    offset += written
                }
            }
        }
    }
}
