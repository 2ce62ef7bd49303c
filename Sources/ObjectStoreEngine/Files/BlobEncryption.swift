import Crypto
import Foundation

/// The store's master key: it wraps the data key of every encrypted blob (SSE-S3, `AES256`).
///
/// Kept in `<directory>/master.key` (32 random bytes, mode 0600), made on the engine's first
/// start. Losing it loses every encrypted object: back it up with the store's folder, but
/// not beside it where the blobs go.
struct MasterKey: Sendable {
    let key: SymmetricKey

    /// The key file's name in the store's folder.
    static let fileName = "master.key"

    /// Reads the store's master key, making it when the store has none yet.
    ///
    /// Blocking (file I/O): called by the engine's synchronous start-up, under its directory lock.
    ///
    /// - Throws: `InternalError` when the file cannot be read or made, is not 32 bytes, or
    ///   can be read by anyone but its owner (mode 0600 expected).
    static func loadOrCreate(_ layout: StoreLayout) throws(StoreError) -> MasterKey {
        let path = layout.directory + "/" + fileName
        if let descriptor = try FileIO.openForReadingIfExists(path) {
            defer { FileIO.close(descriptor) }
            var status = stat()
            guard fstat(descriptor, &status) == 0 else { throw FileIO.failure("fstat") }
            guard status.st_mode & 0o077 == 0 else {
                throw StoreError(.internalError, "The store's master key file \(path) can be read by others than its owner: make it mode 0600.")
            }
            var bytes = [UInt8](repeating: 0, count: 33)
            let count = try bytes.withUnsafeMutableBytes { buffer in
                Result { () throws(StoreError) in try FileIO.readAll(descriptor, into: buffer, offset: 0) }
            }.get()
            guard count == 32 else {
                throw StoreError(.internalError, "The store's master key file \(path) is damaged: it must hold exactly 32 bytes.")
            }
            return MasterKey(key: SymmetricKey(data: bytes[..<32]))
        }
        // A new key: written to a temporary name, flushed, then renamed into place and the folder flushed.
        let key = SymmetricKey(size: .bits256)
        let temporary = path + ".new"
        FileIO.removeIfExists(temporary)
        let descriptor = try FileIO.open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        do throws(StoreError) {
            try key.withUnsafeBytes { bytes in Result { () throws(StoreError) in try FileIO.writeAll(descriptor, bytes, at: 0) } }.get()
            try FileIO.sync(descriptor)
            FileIO.close(descriptor)
            try FileIO.rename(temporary, path)
            try FileIO.syncDirectory(layout.directory)
        } catch {
            FileIO.close(descriptor)
            FileIO.removeIfExists(temporary)
            throw error
        }
        return MasterKey(key: key)
    }
}

/// One encrypted blob's data key, and the layout of an encrypted blob file.
///
/// ```
/// header      "HOISTSE1" (8) · wrapping nonce (12) · data key sealed by the master key (32 + 16 tag)
/// chunk 0     AES-256-GCM of plaintext bytes 0 ..< 64 KiB, then its 16-byte tag
/// chunk 1     the next 64 KiB, …
/// last chunk  the remaining 0 ..< 64 KiB bytes (possibly none), marked final
/// ```
///
/// Each chunk's nonce is its index (the data key is used for this one file only, so a nonce
/// never repeats under a key), and its authenticated data says whether it is the last one: a
/// truncated, reordered, swapped or altered chunk fails to open. A read decrypts only the
/// chunks it touches, so ranged GETs stay cheap and memory stays flat whatever the size.
struct BlobKey: Sendable {
    let key: SymmetricKey

    static let magic: [UInt8] = Array("HOISTSE1".utf8)
    /// Plaintext bytes per chunk.
    static let chunkSize = 64 * 1024
    static let tagSize = 16
    /// A chunk's bytes on disk (a full one).
    static let sealedChunkSize = chunkSize + tagSize
    static let headerSize = 8 + 12 + 32 + 16

    /// A new random data key.
    static func generate() -> BlobKey { BlobKey(key: SymmetricKey(size: .bits256)) }

    /// The file's header: the data key sealed by `master`.
    func header(sealedBy master: MasterKey) throws(StoreError) -> [UInt8] {
        do {
            let raw = key.withUnsafeBytes { Array($0) }
            let box = try AES.GCM.seal(raw, using: master.key, nonce: AES.GCM.Nonce(), authenticating: Self.magic)
            let header = Self.magic + Array(box.nonce) + Array(box.ciphertext) + Array(box.tag)
            guard header.count == Self.headerSize else { throw StoreError(.internalError, "An encryption header has the wrong size.") }
            return header
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internalError, "Could not seal an object's data key: \(error)")
        }
    }

    /// The data key in an encrypted file's header.
    ///
    /// - Throws: `InternalError` when the header is not one, or does not open with `master`
    ///   (another store's file, or damaged).
    static func open(header: [UInt8], with master: MasterKey) throws(StoreError) -> BlobKey {
        guard header.count == headerSize, header.starts(with: magic) else {
            throw StoreError(.internalError, "An encrypted object's file has no valid encryption header.")
        }
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: header[8..<20]),
                                            ciphertext: header[20..<52], tag: header[52..<68])
            let raw = try AES.GCM.open(box, using: master.key, authenticating: magic)
            guard raw.count == 32 else { throw StoreError(.internalError, "An object's data key has the wrong size.") }
            return BlobKey(key: SymmetricKey(data: raw))
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.internalError, "An encrypted object's data key failed its integrity check (damaged, or sealed by another master key).")
        }
    }

    /// The size on disk of an encrypted file holding `plainSize` bytes.
    static func fileSize(plainSize: Int64) -> Int64 {
        let full = plainSize / Int64(chunkSize)
        let rest = plainSize % Int64(chunkSize)
        return Int64(headerSize) + full * Int64(sealedChunkSize) + rest + Int64(tagSize)
    }

    /// Where chunk `index` starts in the file.
    static func fileOffset(ofChunk index: Int64) -> Int64 {
        Int64(headerSize) + index * Int64(sealedChunkSize)
    }

    private static func nonce(_ index: Int64) throws -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        withUnsafeBytes(of: UInt64(index).bigEndian) { bytes.replaceSubrange(4..<12, with: $0) }
        return try AES.GCM.Nonce(data: bytes)
    }

    private static let notFinal: [UInt8] = [0]
    private static let final: [UInt8] = [1]

    /// Encrypts a block of plaintext that starts at `offset` (a multiple of ``chunkSize``).
    ///
    /// - Parameters:
    ///   - block: The bytes; a multiple of ``chunkSize`` unless `isLast`.
    ///   - isLast: The object's last block: its last chunk (partial, or an empty one after a
    ///     block that ends on a chunk boundary) is sealed as the final chunk.
    /// - Returns: The sealed chunks and where they go in the file.
    func seal(_ block: UnsafeRawBufferPointer, at offset: Int64, isLast: Bool) throws(StoreError) -> (bytes: [UInt8], fileOffset: Int64) {
        precondition(offset % Int64(Self.chunkSize) == 0, "encrypted blocks start on a chunk boundary")
        let first = offset / Int64(Self.chunkSize)
        let fullChunks = block.count / Self.chunkSize
        let rest = block.count % Self.chunkSize
        precondition(isLast || rest == 0, "only the last block may end inside a chunk")
        var output: [UInt8] = []
        output.reserveCapacity(fullChunks * Self.sealedChunkSize + (isLast ? rest + Self.tagSize : 0))
        do {
            for chunk in 0..<fullChunks {
                let start = chunk * Self.chunkSize
                let plain = UnsafeRawBufferPointer(rebasing: block[start..<(start + Self.chunkSize)])
                let box = try AES.GCM.seal(plain, using: key, nonce: Self.nonce(first + Int64(chunk)), authenticating: Self.notFinal)
                output.append(contentsOf: box.ciphertext)
                output.append(contentsOf: box.tag)
            }
            if isLast {
                let start = fullChunks * Self.chunkSize
                let plain = UnsafeRawBufferPointer(rebasing: block[start..<block.count])
                let box = try AES.GCM.seal(plain, using: key, nonce: Self.nonce(first + Int64(fullChunks)), authenticating: Self.final)
                output.append(contentsOf: box.ciphertext)
                output.append(contentsOf: box.tag)
            }
        } catch {
            throw StoreError(.internalError, "Could not encrypt an object's data: \(error)")
        }
        return (output, Self.fileOffset(ofChunk: first))
    }

    /// Decrypts chunk `index` of a file holding `plainSize` bytes and copies the plaintext's bytes
    /// `range` into `output` (exactly its size).
    ///
    /// - Parameters:
    ///   - sealed: The chunk's bytes on disk, tag included.
    ///   - length: The chunk's plaintext length, known from the index's size.
    /// - Throws: `InternalError` when the chunk fails its integrity check: altered, moved, or
    ///   from another file. Nothing is written to `output` then.
    func open(_ sealed: UnsafeRawBufferPointer, chunk index: Int64, plainSize: Int64, expecting length: Int,
              copying range: Range<Int>, into output: UnsafeMutableRawBufferPointer) throws(StoreError) {
        let isFinal = index == plainSize / Int64(Self.chunkSize)
        guard sealed.count == length + Self.tagSize, range.upperBound <= length, output.count == range.count else { throw Self.damaged }
        let split = sealed.count - Self.tagSize
        let plain: Data
        do {
            let box = try AES.GCM.SealedBox(nonce: Self.nonce(index),
                                            ciphertext: UnsafeRawBufferPointer(rebasing: sealed[..<split]),
                                            tag: UnsafeRawBufferPointer(rebasing: sealed[split...]))
            plain = try AES.GCM.open(box, using: key, authenticating: isFinal ? Self.final : Self.notFinal)
        } catch {
            throw Self.damaged
        }
        guard plain.count == length else { throw Self.damaged }
        plain.withUnsafeBytes { output.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    static let damaged = StoreError(.internalError, "The object's stored data failed its integrity check: it was altered or damaged on disk.")
}

/// An encrypted file open for reading: its data key, and reads of plaintext ranges that
/// decrypt whole chunks.
struct EncryptedFileReader {
    let key: BlobKey
    /// The plaintext size the index records.
    let plainSize: Int64

    /// Reads the header of the file open as `descriptor` and opens its data key.
    init(descriptor: Int32, plainSize: Int64, master: MasterKey) throws(StoreError) {
        var header = [UInt8](repeating: 0, count: BlobKey.headerSize)
        let count = try header.withUnsafeMutableBytes { buffer in
            Result { () throws(StoreError) in try FileIO.readAll(descriptor, into: buffer, offset: 0) }
        }.get()
        guard count == BlobKey.headerSize else { throw BlobKey.damaged }
        self.key = try BlobKey.open(header: header, with: master)
        self.plainSize = plainSize
    }

    /// Fills `buffer` with the plaintext at `offset` (within the file), decrypting the chunks it
    /// touches; returns how many bytes it read (fewer only at the end).
    ///
    /// The touched chunks are read with one `pread`, and each is opened straight into `buffer`.
    func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64) throws(StoreError) -> Int {
        let wanted = Int(min(Int64(buffer.count), max(0, plainSize - offset)))
        guard wanted > 0 else { return 0 }
        let chunkSize = Int64(BlobKey.chunkSize)
        let firstChunk = offset / chunkSize
        let lastChunk = (offset + Int64(wanted) - 1) / chunkSize
        let sealedStart = BlobKey.fileOffset(ofChunk: firstChunk)
        let lastLength = Int(min(chunkSize, plainSize - lastChunk * chunkSize))
        let sealedEnd = BlobKey.fileOffset(ofChunk: lastChunk) + Int64(lastLength + BlobKey.tagSize)
        let sealedCount = Int(sealedEnd - sealedStart)
        var failure: StoreError?
        let sealed = [UInt8](unsafeUninitializedCapacity: sealedCount) { raw, initialized in
            do throws(StoreError) {
                initialized = try FileIO.readAll(descriptor, into: UnsafeMutableRawBufferPointer(raw), offset: sealedStart)
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        guard sealed.count == sealedCount else {
            throw StoreError(.internalError, "The object's data ended before the size the index records.")
        }
        var done = 0
        try sealed.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in Result { () throws(StoreError) in
            var at = 0
            for index in firstChunk...lastChunk {
                let chunkStart = index * chunkSize
                let chunkLength = Int(min(chunkSize, plainSize - chunkStart))
                let sealedLength = chunkLength + BlobKey.tagSize
                let skip = Int(max(0, offset - chunkStart))
                let take = min(chunkLength - skip, wanted - done)
                let target = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + take)])
                try key.open(UnsafeRawBufferPointer(rebasing: raw[at..<(at + sealedLength)]), chunk: index, plainSize: plainSize,
                             expecting: chunkLength, copying: skip..<(skip + take), into: target)
                at += sealedLength
                done += take
            }
        } }.get()
        return done
    }
}
