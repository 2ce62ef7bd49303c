import FlatJSON
import Foundation
import Uploads

/// A validated `POST /multipart-uploads` request: the fields of `POST /upload-url`
/// (type, size, article) and whether every part will carry its SHA-256.
struct CreateMultipartRequest: Sendable {
    var contentType: String
    var size: Int64
    var articleId: String?
    var checksumSHA256: Bool

    /// Parses and validates the JSON body; unknown fields are ignored.
    init(body: [UInt8], policy: UploadPolicy) throws(APIError) {
        let single = try UploadURLRequest(body: body, policy: policy)
        guard let size = single.size else { throw APIError.badRequest("size is required: the exact number of bytes you will upload.") }
        guard size <= MultipartPlan.maximumSize else {
            throw APIError(.contentTooLarge, "payload_too_large", "size \(size) is over the 5 TiB a multipart upload can hold.")
        }
        guard single.checksumSHA256 == nil else {
            throw APIError.badRequest("checksumSHA256 is per part in a multipart upload: set checksumAlgorithm to SHA256 and send each part's SHA-256 when signing it.")
        }
        contentType = single.contentType
        self.size = size
        articleId = single.articleId
        // UploadURLRequest has checked the body is a JSON object.
        let fields = (try? FlatJSON.object(body)) ?? [:]
        switch fields["checksumAlgorithm"] {
        case nil, .null?: checksumSHA256 = false
        case .string(let text)? where text.uppercased() == "SHA256": checksumSHA256 = true
        default: throw APIError.badRequest("checksumAlgorithm must be SHA256 (or absent).")
        }
    }
}

/// A validated `POST /multipart-uploads/{uploadId}/parts` request: the parts to sign, each
/// with its SHA-256 when the upload was created with that checksum algorithm.
struct SignPartsRequest: Sendable {
    struct Part: Sendable, Equatable {
        var number: Int
        var checksumSHA256: String?
    }
    var parts: [Part]

    /// The largest request body read (1,000 parts with their checksums fit).
    static let maximumBody = 256 * 1024
    /// The most parts one request may sign.
    static let maximumParts = 1000

    private struct Body: Decodable {
        struct Item: Decodable {
            var partNumber: Int
            var checksumSHA256: String?
        }
        var parts: [Item]
    }

    /// Parses the JSON body `{"parts":[{"partNumber":1,"checksumSHA256":"…"},…]}` and checks
    /// every part against the upload's plan.
    init(body: [UInt8], plan: MultipartPlan, checksumRequired: Bool) throws(APIError) {
        let decoded: Body
        do {
            decoded = try JSONDecoder().decode(Body.self, from: Data(body))
        } catch {
            throw APIError.badRequest("Send a JSON object {\"parts\":[{\"partNumber\":1},…]} (with each part's checksumSHA256 when the upload was created with checksumAlgorithm SHA256).")
        }
        guard !decoded.parts.isEmpty else { throw APIError.badRequest("parts must name at least one part.") }
        guard decoded.parts.count <= Self.maximumParts else {
            throw APIError.badRequest("At most \(Self.maximumParts) parts can be signed at once; got \(decoded.parts.count).")
        }
        var seen = Set<Int>()
        parts = []
        for item in decoded.parts {
            guard plan.length(ofPart: item.partNumber) != nil else {
                throw APIError.badRequest("partNumber must be between 1 and \(plan.partCount) for this upload; got \(item.partNumber).")
            }
            guard seen.insert(item.partNumber).inserted else {
                throw APIError.badRequest("Part \(item.partNumber) is named twice.")
            }
            var checksum: String?
            if let text = item.checksumSHA256 {
                guard checksumRequired else {
                    throw APIError.badRequest("This upload was created without checksumAlgorithm SHA256: its parts carry no checksum.")
                }
                guard let digest = Data(base64Encoded: text), digest.count == 32 else {
                    throw APIError.badRequest("checksumSHA256 of part \(item.partNumber) must be the base64 of a 32-byte SHA-256 digest.")
                }
                checksum = digest.base64EncodedString()
            } else if checksumRequired {
                throw APIError.badRequest("This upload was created with checksumAlgorithm SHA256: part \(item.partNumber) needs its checksumSHA256.")
            }
            parts.append(Part(number: item.partNumber, checksumSHA256: checksum))
        }
    }
}
