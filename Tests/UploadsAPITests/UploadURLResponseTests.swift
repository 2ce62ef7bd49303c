import Foundation
import Testing
@testable import UploadsAPI

@Suite("Upload URL response JSON")
struct UploadURLResponseJSONTests {
    @Test("the hand-written JSON says what JSONEncoder says, escapes included")
    func sameAsEncoder() throws {
        let response = UploadURLResponse(uploadUrl: "http://127.0.0.1:9000/b/k?X-Amz-Signature=ab\"c\\d", key: "articles/x/raw/é\n.png",
                                         articleId: "id\t1", expiresIn: 900, expiresAt: "2027-01-15T08:00:00Z", method: "PUT",
                                         headers: ["Content-Type": "image/png", "If-None-Match": "*", "x-amz-checksum-sha256": "q/+=\u{1}"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let viaEncoder = try JSONSerialization.jsonObject(with: encoder.encode(response)) as? NSDictionary
        let handWritten = try JSONSerialization.jsonObject(with: Data(response.jsonText.utf8)) as? NSDictionary
        #expect(viaEncoder != nil && viaEncoder == handWritten)
        #expect(try JSONDecoder().decode(UploadURLResponse.self, from: Data(response.jsonText.utf8)) == response)
    }
}
