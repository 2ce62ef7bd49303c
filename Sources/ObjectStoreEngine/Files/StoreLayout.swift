import Foundation
import HoistSupport

/// Where a store keeps its files inside its directory.
///
/// ```
/// <directory>/index.sqlite        the index (plus -wal, -shm)
/// <directory>/lock                held (flock) by the engine that has the store open
/// <directory>/tmp/<name>          uploads being written
/// <directory>/blobs/<ab>/<name>   published bytes, immutable; <ab> = the name's first two hex digits
/// ```
///
/// Blob names are 32 random hex digits, never derived from object keys: any
/// key is valid whatever the file system thinks of it, and the index maps
/// (bucket, key) to a blob name.
struct StoreLayout: Sendable, Hashable {
    /// The store's directory, as a path.
    let directory: String

    /// Describes the store in `directory`.
    init(directory: URL) {
        self.directory = directory.standardizedFileURL.path
    }

    /// The SQLite index.
    var indexPath: String { directory + "/index.sqlite" }
    /// The lock file.
    var lockPath: String { directory + "/lock" }
    /// Uploads being written.
    var tmpDirectory: String { directory + "/tmp" }
    /// Published blobs, sharded into 256 subfolders.
    var blobsDirectory: String { directory + "/blobs" }

    /// The 256 shard names, `00` to `ff`.
    static let shards: [String] = (0..<256).map { Hex.encode([UInt8($0)]) }

    /// The temporary file of the upload that will become blob `name`.
    func tmpPath(_ name: String) -> String { tmpDirectory + "/" + name }

    /// The shard folder of blob `name`.
    func shardDirectory(_ name: String) -> String { blobsDirectory + "/" + String(name.prefix(2)) }

    /// The file of blob `name`.
    func blobPath(_ name: String) -> String { shardDirectory(name) + "/" + name }

    /// A new random blob name: 128 random bits as 32 hex digits.
    static func newBlobName() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        let bytes = withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) }
        return Hex.encode(bytes)
    }

    /// Whether `name` looks like a blob name (32 lowercase hex digits).
    static func isBlobName(_ name: String) -> Bool {
        let utf8 = name.utf8
        return utf8.count == 32 && utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
