@testable import HoistServer
import Logging
import Testing

@Suite("The log line format")
struct LineLogHandlerTests {
    @Test("time, level, label, the logger's metadata with the message's on top (sorted), source, message")
    func line() {
        var handler = LineLogHandler(label: "hoist.api")
        handler[metadataKey: "hb.request.id"] = "7f"
        handler[metadataKey: "zone"] = "a"
        let line = handler.render(level: .warning, message: "slow request", metadata: ["zone": "b", "key": "articles/x.png"],
                                  source: "Uploads", time: "2026-11-29T22:48:29+0000")
        #expect(line == "2026-11-29T22:48:29+0000 warning hoist.api: hb.request.id=7f key=articles/x.png zone=b [Uploads] slow request\n")
        #expect(handler[metadataKey: "zone"] == "a", "a message's metadata does not stay on the logger")
        let bare = LineLogHandler(label: "x").render(level: .info, message: "up", metadata: nil, source: "hoist", time: "T")
        #expect(bare == "T info x: [hoist] up\n")
    }

    @Test("the timestamp has the ISO 8601 shape with a numeric zone")
    func timestamp() {
        let stamp = LineLogHandler.timestamp()
        #expect(stamp.count == 24)
        #expect(stamp.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{4}/) != nil, "\(stamp)")
    }
}
