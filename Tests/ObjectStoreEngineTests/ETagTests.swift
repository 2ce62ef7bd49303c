import Testing
@testable import ObjectStoreEngine

@Suite struct ETagTests {
    @Test(arguments: [
        ("5d41402abc4b2a76b9719d911017c592", true),
        ("\"5d41402abc4b2a76b9719d911017c592\"", true),
        ("5D41402ABC4B2A76B9719D911017C592", true),
        ("*", true),
        ("\"*\"", true),
        ("W/\"5d41402abc4b2a76b9719d911017c592\"", false),
        ("5d41402abc4b2a76b9719d911017c593", false),
        ("\"5d41402abc4b2a76b9719d911017c592", false),
        ("", false),
    ])
    func strongComparison(expected: String, matches: Bool) {
        #expect(ETag.matches(expected, "5d41402abc4b2a76b9719d911017c592") == matches)
    }
}
