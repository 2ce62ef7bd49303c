import Testing
@testable import ObjectStoreEngine

@Suite struct ObjectKeyTests {
    @Test func lengths() {
        expectStoreError(.invalidArgument) { try ObjectKey.validate("") }
        #expect(throws: Never.self) { try ObjectKey.validate("a") }
        #expect(throws: Never.self) { try ObjectKey.validate(String(repeating: "🦄", count: 256)) }  // 1024 bytes
        expectStoreError(.keyTooLong) { try ObjectKey.validate(String(repeating: "🦄", count: 256) + "a") }
    }

    @Test(arguments: [
        ([UInt8](), nil),
        ([0x61], [0x62]),
        ([0x61, 0x2F], [0x61, 0x30]),
        ([0x61, 0xFF], [0x62]),
        ([0xFF, 0xFF], nil),
    ] as [([UInt8], [UInt8]?)])
    func successorOfPrefix(prefix: [UInt8], expected: [UInt8]?) {
        #expect(ObjectKey.successor(ofPrefix: prefix) == expected)
    }
}
