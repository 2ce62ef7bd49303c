#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import ObjectStoreEngine

private let a = String(repeating: "a", count: 32)
private let b = "0123456789abcdef0123456789abcdef"

@Suite struct SegmentTests {
    @Test func encodesOneLinePerSegmentAndDecodesBack() throws {
        let segments = [Segment(blob: a, size: 5_242_880), Segment(blob: b, size: 0)]
        let text = Segment.encode(segments)
        #expect(text == "\(a) 5242880\n\(b) 0")
        #expect(try Segment.decode(text) == segments)
        #expect(try Segment.decode("\(b) 9223372036854775807") == [Segment(blob: b, size: .max)])
    }

    @Test(arguments: [
        "",                                   // no segment
        "\(a) 5\n",                           // a trailing newline is an empty line
        "\(a)",                               // no size
        "\(a) ",                              // empty size
        "\(a) -1",                            // negative
        "\(a) +1",                            // signed
        "\(a) 1 2",                           // extra field
        "\(a)  1",                            // two spaces
        "\(a) 9223372036854775808",           // past Int64
        "\(a.uppercased()) 1",                // not a blob name
        "../\(a.dropFirst(3)) 1",             // a path
        "\(a) 1\n\(b)",                       // a later line broken
    ])
    func refusesMalformedText(_ text: String) {
        expectStoreError(.internalError) { try Segment.decode(text) }
    }
}

@Suite("Process limits")
struct OpenFileLimitTests {
    @Test("the soft limit of open files is raised to the hard limit (a reader holds one per segment)")
    func raised() {
        let now = StorageEngine.raiseOpenFileLimit()
        var limit = rlimit()
        #expect(getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0)
        #expect(limit.rlim_cur == limit.rlim_max)
        #expect(now == UInt64(limit.rlim_cur))
    }
}
