import Auth
import Foundation
import S3
import SigV4
import Uploads

/// The answer to `POST /multipart-uploads`.
struct MultipartUploadResponse: Codable, Sendable, Equatable {
    var uploadId: String
    var key: String
    var articleId: String
    var contentType: String
    var size: Int64
    var partSize: Int64
    var partCount: Int
    var checksumAlgorithm: String?
    var expiresAt: String
    var status: String

    init(_ record: MultipartUploadRecord) {
        uploadId = record.uploadId
        key = record.key
        articleId = record.articleId
        contentType = record.contentType
        size = record.size
        partSize = record.partSize
        partCount = record.plan.partCount
        checksumAlgorithm = record.checksumSHA256 ? "SHA256" : nil
        expiresAt = AMZDate(record.expiresAt).iso8601String
        status = record.status.rawValue
    }
}

/// The answer to `POST /multipart-uploads/{uploadId}/parts`.
struct SignedPartsResponse: Codable, Sendable, Equatable {
    struct Part: Codable, Sendable, Equatable {
        var partNumber: Int
        var url: String
        var method: String
        /// Every header the PUT must carry for the signature to hold.
        var headers: [String: String]
    }
    var uploadId: String
    var key: String
    var expiresIn: Int
    var expiresAt: String
    var parts: [Part]
}

/// The answer to `GET /multipart-uploads/{uploadId}/parts`: what storage holds.
struct ListedPartsResponse: Codable, Sendable, Equatable {
    struct Part: Codable, Sendable, Equatable {
        var partNumber: Int
        var size: Int64
        var etag: String
        var checksumSHA256: String?
    }
    var uploadId: String
    var key: String
    var size: Int64
    var partSize: Int64
    var partCount: Int
    var status: String
    var parts: [Part]
    /// Part numbers not uploaded yet, or uploaded with another length than the plan's.
    var missingParts: [Int]
}

/// The answer to `POST /multipart-uploads/{uploadId}/complete` (the same on every retry).
struct CompletedUploadResponse: Codable, Sendable, Equatable {
    var uploadId: String
    var key: String
    var articleId: String
    var size: Int64
    var etag: String
    var status: String
}

extension UploadService {
    // MARK: Create

    /// Starts a multipart upload for the caller: the policy checks of a single PUT, then
    /// CreateMultipartUpload on storage and the records.
    func createMultipartUpload(for user: AuthenticatedUser, body: [UInt8]) async throws(APIError) -> MultipartUploadResponse {
        let now = clock()
        let request = try CreateMultipartRequest(body: body, policy: policy)
        try await acquireRateLimit(user, now: now)
        let articleId = request.articleId ?? UploadKey.randomUUID()
        // Someone else's article is refused before anything is started on storage.
        let knownOwner: String?
        do { knownOwner = try await records.owner(ofArticle: articleId) } catch {
            throw Self.apiError(error, otherwise: "The article could not be read.")
        }
        if let knownOwner, knownOwner != user.subject {
            throw APIError.forbidden("The article \(articleId) belongs to another user.")
        }
        let ext = policy.allowedTypes[request.contentType] ?? "bin"
        let key = UploadKey(articleId: articleId, uuid: UploadKey.timeOrderedUUID(now: now), ext: ext).key
        let plan = MultipartPlan(size: request.size)
        let expiresAt = now.addingTimeInterval(TimeInterval(policy.multipartUploadExpiry))

        let uploadId: String
        do {
            uploadId = try await multipart.create(key: key, contentType: request.contentType, checksumSHA256: request.checksumSHA256)
        } catch {
            throw storageError(error, operation: "CreateMultipartUpload", key: key)
        }
        let upload = UploadRecord(key: key, articleId: articleId, owner: user.subject, contentType: request.contentType,
                                  size: request.size, checksumSHA256: nil, issuedAt: now, expiresAt: expiresAt, status: .pending)
        let record = MultipartUploadRecord(uploadId: uploadId, key: key, articleId: articleId, owner: user.subject,
                                           contentType: request.contentType, size: request.size, partSize: plan.partSize,
                                           checksumSHA256: request.checksumSHA256, createdAt: now, expiresAt: expiresAt)
        do {
            guard try await records.record(upload) else {
                await abandon(key: key, uploadId: uploadId)
                throw APIError.forbidden("The article \(articleId) belongs to another user.")
            }
            try await records.recordMultipart(record)
        } catch let error as APIError {
            throw error
        } catch {
            await abandon(key: key, uploadId: uploadId)
            throw Self.apiError(error, otherwise: "The upload record could not be written.")
        }
        return MultipartUploadResponse(record)
    }

    /// Aborts on storage an upload the records could not take (best effort: the sweeper
    /// cannot find an upload that was never recorded).
    private func abandon(key: String, uploadId: String) async {
        do { try await multipart.abort(key: key, uploadId: uploadId) } catch {
            logger?.warning("could not abort an unrecorded multipart upload", metadata: ["upload.key": "\(key)", "error": "\(error)"])
        }
    }

    // MARK: Sign parts

    /// Pre-signs UploadPart URLs, each binding its part's exact length (and SHA-256).
    func signParts(for user: AuthenticatedUser, uploadId: String, body: [UInt8]) async throws(APIError) -> SignedPartsResponse {
        let now = clock()
        let record = try await ownedUpload(uploadId, of: user)
        switch record.status {
        case .active: break
        case .completed: throw APIError(.conflict, "upload_completed", "The upload is already completed.")
        case .aborted: throw Self.uploadNotFound
        }
        let left = Int(record.expiresAt.timeIntervalSince(now).rounded(.down))
        guard left >= 1 else { throw APIError.notFound("The upload has expired; start a new one.") }
        let request = try SignPartsRequest(body: body, plan: record.plan, checksumRequired: record.checksumSHA256)
        let lifetime = min(policy.uploadURLExpiry, left)
        var parts: [SignedPartsResponse.Part] = []
        parts.reserveCapacity(request.parts.count)
        var expiresIn = lifetime
        var expiresAt = now.addingTimeInterval(TimeInterval(lifetime))
        for part in request.parts {
            // `length(ofPart:)` was checked by the request.
            let length = record.plan.length(ofPart: part.number) ?? 0
            var headers = [("Content-Length", String(length))]
            if let checksum = part.checksumSHA256 { headers.append(("x-amz-checksum-sha256", checksum)) }
            let presigned = try await presign(method: "PUT", key: record.key,
                                              query: [("partNumber", String(part.number)), ("uploadId", record.uploadId)],
                                              headers: headers, expires: lifetime, now: now)
            expiresIn = min(expiresIn, presigned.expiresIn)
            expiresAt = min(expiresAt, presigned.expiresAt)
            parts.append(.init(partNumber: part.number, url: presigned.url, method: "PUT",
                               headers: Dictionary(headers, uniquingKeysWith: { $1 })))
        }
        return SignedPartsResponse(uploadId: record.uploadId, key: record.key, expiresIn: expiresIn,
                                   expiresAt: AMZDate(expiresAt).iso8601String, parts: parts)
    }

    // MARK: List parts

    /// The parts storage holds (ListParts, every page), and those still missing.
    func listParts(for user: AuthenticatedUser, uploadId: String) async throws(APIError) -> ListedPartsResponse {
        let record = try await ownedUpload(uploadId, of: user)
        let plan = record.plan
        var response = ListedPartsResponse(uploadId: record.uploadId, key: record.key, size: record.size, partSize: record.partSize,
                                           partCount: plan.partCount, status: record.status.rawValue, parts: [], missingParts: [])
        switch record.status {
        case .completed: return response
        case .aborted: throw Self.uploadNotFound
        case .active: break
        }
        let stored: [S3Part]
        do {
            stored = try await multipart.parts(key: record.key, uploadId: record.uploadId)
        } catch {
            throw storageError(error, operation: "ListParts", key: record.key)
        }
        response.parts = stored.map { .init(partNumber: $0.partNumber, size: $0.size, etag: $0.etag, checksumSHA256: $0.checksumSHA256) }
        let good = Set(stored.filter { plan.length(ofPart: $0.partNumber) == $0.size }.map(\.partNumber))
        response.missingParts = (1...plan.partCount).filter { !good.contains($0) }
        return response
    }

    // MARK: Complete

    /// Completes the upload from the parts storage lists, once they are exactly the plan.
    /// Safe to retry: a completed upload answers with its stored result.
    func completeMultipartUpload(for user: AuthenticatedUser, uploadId: String) async throws(APIError) -> CompletedUploadResponse {
        let record = try await ownedUpload(uploadId, of: user)
        switch record.status {
        case .completed: return Self.completed(record)
        case .aborted: throw Self.uploadNotFound
        case .active: break
        }
        let stored: [S3Part]
        do {
            stored = try await multipart.parts(key: record.key, uploadId: record.uploadId)
        } catch {
            // Completed meanwhile by a concurrent call?
            if let done = try await completedMeanwhile(uploadId, error) { return done }
            throw storageError(error, operation: "ListParts", key: record.key)
        }
        if let problem = record.plan.problems(with: stored.map { ($0.partNumber, $0.size) }) {
            throw APIError(.conflict, "incomplete_upload", "The parts do not make the declared \(record.size) bytes: \(problem).")
        }
        let ordered = stored.sorted { $0.partNumber < $1.partNumber }
            .map { S3Part(partNumber: $0.partNumber, etag: $0.etag, size: $0.size, checksumSHA256: record.checksumSHA256 ? $0.checksumSHA256 : nil) }
        let etag: String
        do {
            etag = try await multipart.complete(key: record.key, uploadId: record.uploadId, parts: ordered)
        } catch {
            if let done = try await completedMeanwhile(uploadId, error) { return done }
            throw storageError(error, operation: "CompleteMultipartUpload", key: record.key)
        }
        let finished: MultipartUploadRecord?
        do {
            finished = try await records.finishMultipart(id: uploadId, status: .completed, etag: etag, at: clock())
        } catch {
            throw Self.apiError(error, otherwise: "The completion could not be recorded; try again.")
        }
        guard let finished, finished.status == .completed else {
            throw APIError(.conflict, "upload_aborted", "The upload was aborted while it was being completed.")
        }
        return Self.completed(finished)
    }

    static func completed(_ record: MultipartUploadRecord) -> CompletedUploadResponse {
        CompletedUploadResponse(uploadId: record.uploadId, key: record.key, articleId: record.articleId, size: record.size,
                                etag: record.etag ?? "", status: record.status.rawValue)
    }

    /// When storage says the upload is gone, a concurrent completion may have finished it:
    /// its stored result, or `nil`.
    private func completedMeanwhile(_ uploadId: String, _ error: any Error) async throws(APIError) -> CompletedUploadResponse? {
        guard (error as? S3ClientError)?.code == .noSuchUpload else { return nil }
        let again: MultipartUploadRecord?
        do { again = try await records.multipartUpload(id: uploadId) } catch {
            throw Self.apiError(error, otherwise: "The upload could not be read.")
        }
        guard let again, again.status == .completed else { return nil }
        return Self.completed(again)
    }

    // MARK: Abort

    /// Aborts the upload on storage and in the records; aborting twice is no error.
    func abortMultipartUpload(for user: AuthenticatedUser, uploadId: String) async throws(APIError) {
        let record = try await ownedUpload(uploadId, of: user)
        switch record.status {
        case .completed: throw APIError(.conflict, "upload_completed", "The upload is completed: delete the object instead.")
        case .aborted: return
        case .active: break
        }
        do {
            try await multipart.abort(key: record.key, uploadId: record.uploadId)
        } catch where (error as? S3ClientError)?.code == .noSuchUpload {
            // Already gone on storage: the records catch up below.
        } catch {
            throw storageError(error, operation: "AbortMultipartUpload", key: record.key)
        }
        do {
            let finished = try await records.finishMultipart(id: uploadId, status: .aborted, etag: nil, at: clock())
            if finished?.status == .completed {
                throw APIError(.conflict, "upload_completed", "The upload was completed meanwhile: delete the object instead.")
            }
            if var upload = try await records.upload(key: record.key), upload.status == .pending {
                upload.status = .expired
                upload.reason = "The multipart upload was aborted."
                try await records.update(upload)
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw Self.apiError(error, otherwise: "The abort could not be recorded.")
        }
    }

    // MARK: Helpers

    static let uploadNotFound = APIError.notFound("No such multipart upload.")

    /// The caller's upload `uploadId`: someone else's is as unknown as a missing one (404).
    func ownedUpload(_ uploadId: String, of user: AuthenticatedUser) async throws(APIError) -> MultipartUploadRecord {
        guard !uploadId.isEmpty, uploadId.utf8.count <= 1024 else { throw Self.uploadNotFound }
        let record: MultipartUploadRecord?
        do { record = try await records.multipartUpload(id: uploadId) } catch {
            throw Self.apiError(error, otherwise: "The upload could not be read.")
        }
        guard let record, record.owner == user.subject, UploadKey(record.key)?.articleId == record.articleId else {
            throw Self.uploadNotFound
        }
        return record
    }

    /// The API's answer to a storage failure: 404 for an upload storage no longer has, else 503
    /// (`storage_unavailable`, logged; the client may retry).
    func storageError(_ error: any Error, operation: String, key: String) -> APIError {
        if let s3 = error as? S3ClientError, s3.code == .noSuchUpload {
            return Self.uploadNotFound
        }
        logger?.error("storage call failed", metadata: ["s3.operation": "\(operation)", "upload.key": "\(key)", "error": "\(error)"])
        var answer = APIError(.serviceUnavailable, "storage_unavailable", "Storage did not complete \(operation); try again.")
        answer.headers[.retryAfter] = "2"
        return answer
    }
}
