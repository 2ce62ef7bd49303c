import Foundation
import SigV4
import Testing

@Suite("AMZDate")
struct AMZDateTests {
    @Test("formats agree with Foundation across centuries", arguments: [
        0, 951_782_400, 1_369_353_600, 1_440_938_160, 1_709_164_800, 4_102_444_799, 253_402_300_799, -86_400,
    ] as [Int64])
    func formatting(_ seconds: Int64) {
        let date = AMZDate(secondsSince1970: seconds)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        #expect(date.amzString == formatter.string(from: date.date))
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        #expect(date.httpDateString == formatter.string(from: date.date))
        #expect(AMZDate(amz: date.amzString) == date)
        #expect(AMZDate(iso8601: date.iso8601String) == date)
        #expect(AMZDate(httpDate: date.httpDateString) == date)
    }

    @Test("examples and rejects", arguments: [
        ("20130524T000000Z", true), ("20150830T123600Z", true), ("20240229T235959Z", true),
        ("20230229T000000Z", false), ("20130524T240000Z", false), ("2013-05-24T00:00:00Z", false),
        ("20130524T000000", false), ("2013052AT000000Z", false), ("", false),
    ])
    func parsing(_ text: String, _ valid: Bool) {
        #expect((AMZDate(amz: text) != nil) == valid)
    }

    @Test("ISO 8601 with fractions, as in POST policies")
    func iso() {
        #expect(AMZDate(iso8601: "2015-12-30T12:00:00.000Z")?.amzString == "20151230T120000Z")
        #expect(AMZDate(iso8601: "2015-12-30T12:00:00Z")?.amzString == "20151230T120000Z")
        #expect(AMZDate(iso8601: "2015-12-30T12:00:00.Z") == nil)
        #expect(AMZDate(iso8601: "2015-12-30 12:00:00Z") == nil)
    }

    @Test("HTTP dates: IMF-fixdate and the RFC 2822 forms clients send in Date", arguments: [
        ("Fri, 04 Dec 2026 15:21:16 GMT", "20261204T152116Z"),
        ("Fri, 04 Dec 2026 15:21:16 -0000", "20261204T152116Z"),
        ("Fri, 04 Dec 2026 15:21:16 +0000", "20261204T152116Z"),
        ("04 Dec 2026 15:21:16 UT", "20261204T152116Z"),
        ("Fri, 4 Dec 2026 16:21:16 +0100", "20261204T152116Z"),
        ("Fri, 04 Dec 2026 10:51:16 -0430", "20261204T152116Z"),
        ("Sat, 05 Dec 2026 00:30:00 +0900", "20261204T153000Z"),
    ])
    func httpDates(_ text: String, _ amz: String) {
        #expect(AMZDate(httpDate: text)?.amzString == amz)
    }

    @Test("HTTP dates refused", arguments: [
        "Fri, 32 Dec 2026 15:21:16 GMT", "Fri, 04 Dec 2026 24:00:00 GMT", "Fri, 04 Dec 2026 15:21 GMT",
        "Fri, 04 Foo 2026 15:21:16 GMT", "Fri, 04 Dec 2026 15:21:16 +01", "Fri, 04 Dec 2026 15:21:16 +0160",
        "Fri, 04 Dec 2026 15:21:16 EST", "Fri, 04 Dec 26 15:21:16 GMT", "Fri, 04 Dec 2026 15:21:16", "", "   ",
        "Fri, 04 Dec 2026 1:2:3 GMT", "Fri, 04 Dec 2026 15:21:16 +99999",
    ])
    func httpDateRejects(_ text: String) {
        #expect(AMZDate(httpDate: text) == nil)
    }
}
