import Foundation
import ImageWorker
import NIOPosix
import ObjectStoreEngine

/// The worker's access to the embedded store's bucket, in-process (`hoist serve`).
///
/// Writes go through the engine's commit like any PUT: atomic, flushed, and
/// announced by an event (which the worker ignores, as derived keys are not upload keys).
struct EngineObjectAccess: ObjectAccess {
    let engine: StorageEngine
    let bucket: String

    /// Read and write in pieces of this size: memory stays flat whatever the object's size.
    static let pieceSize = 1 << 20

    func head(_ key: String, version: String?) async throws -> ObjectHead? {
        do {
            let info = try await engine.head(bucket: bucket, key: key, versionId: version)
            return ObjectHead(size: info.size, etag: info.etag, contentType: info.metadata.contentType,
                              checksumSHA256: info.metadata.checksumSHA256)
        } catch {
            // No object, no such version, or a delete marker's version.
            let absent: Set<StoreError.Code> = [.noSuchKey, .noSuchVersion, .methodNotAllowed]
            guard absent.contains(error.code) else { throw error }
            return nil
        }
    }

    func read(_ key: String, version: String?, first count: Int) async throws -> [UInt8] {
        let (_, reader) = try await engine.open(bucket: bucket, key: key, versionId: version)
        defer { reader.close() }
        return try await reader.read(offset: 0, count: Int(min(Int64(count), reader.size)))
    }

    func download(_ key: String, version: String?, to path: String) async throws {
        let (_, reader) = try await engine.open(bucket: bucket, key: key, versionId: version)
        defer { reader.close() }
        // The local file's open and writes block: they run on NIO's thread pool, like the engine's reads.
        let file = try await NIOThreadPool.singleton.runIfActive {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw StoreError(.internalError, "Could not create \(path).")
            }
            return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        defer { try? file.close() }
        var offset: Int64 = 0
        while offset < reader.size {
            let piece = try await reader.read(offset: offset, count: Int(min(Int64(Self.pieceSize), reader.size - offset)))
            guard !piece.isEmpty else { break }
            try await NIOThreadPool.singleton.runIfActive { try file.write(contentsOf: piece) }
            offset += Int64(piece.count)
        }
    }

    func put(_ key: String, file path: String, contentType: String) async throws {
        let sink = try await engine.beginUpload(bucket: bucket)
        do {
            // The local file's reads block: they run on NIO's thread pool, the sink's writes too.
            let file = try await NIOThreadPool.singleton.runIfActive { try FileHandle(forReadingFrom: URL(fileURLWithPath: path)) }
            defer { try? file.close() }
            while let piece = try await NIOThreadPool.singleton.runIfActive({ try file.read(upToCount: Self.pieceSize) }),
                  !piece.isEmpty {
                try piece.withUnsafeBytes { try sink.append($0) }
                try await sink.drain()
            }
            _ = try await engine.commit(sink, bucket: bucket, key: key, metadata: ObjectMetadata(contentType: contentType))
        } catch {
            await engine.abort(sink)
            throw error
        }
    }

    func copy(_ source: String, version: String?, to destination: String) async throws {
        _ = try await engine.copy(fromBucket: bucket, fromKey: source, fromVersionId: version, toBucket: bucket, toKey: destination,
                                  metadata: nil)
    }

    func delete(_ key: String, version: String?) async throws {
        do {
            _ = try await engine.delete(bucket: bucket, key: key, versionId: version)
        } catch {
            guard error.code == .noSuchVersion else { throw error }  // else already gone
        }
    }

    func abortMultipartUpload(_ key: String, uploadId: String) async throws {
        do {
            try await engine.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
        } catch where error.code == .noSuchUpload {
            // already completed or aborted
        }
    }
}
