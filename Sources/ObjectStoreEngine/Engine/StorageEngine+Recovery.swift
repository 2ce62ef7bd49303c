import Foundation
import GRDB

extension StorageEngine {
    /// Creates the tmp and blob folders and the 256 blob shards, flushing every
    /// directory that gained an entry so that the layout itself survives a crash.
    static func makeDirectories(_ layout: StoreLayout) throws(StoreError) {
        var parentChanged = false
        parentChanged = try FileIO.makeDirectory(layout.tmpDirectory) || parentChanged
        parentChanged = try FileIO.makeDirectory(layout.blobsDirectory) || parentChanged
        var blobsChanged = false
        for shard in StoreLayout.shards {
            blobsChanged = try FileIO.makeDirectory(layout.blobsDirectory + "/" + shard) || blobsChanged
        }
        if blobsChanged { try FileIO.syncDirectory(layout.blobsDirectory) }
        if parentChanged { try FileIO.syncDirectory(layout.directory) }
    }

    /// Removes what a crash can leave behind: every file in tmp (uploads that
    /// were never committed) and every blob that no index row references (a
    /// commit that died between the rename and the index transaction, or a
    /// replaced blob not yet removed).
    ///
    /// Runs before the engine serves anything, under the directory's lock.
    ///
    /// - Returns: How many files were removed.
    @discardableResult
    static func removeLeftovers(_ layout: StoreLayout, _ database: DatabasePool) throws -> Int {
        var removed = 0
        let files = FileManager.default
        for name in try files.contentsOfDirectory(atPath: layout.tmpDirectory) {
            try files.removeItem(atPath: layout.tmpDirectory + "/" + name)
            removed += 1
        }
        let referenced = try database.read(IndexSchema.referencedBlobs)
        for shard in StoreLayout.shards {
            let shardDirectory = layout.blobsDirectory + "/" + shard
            for name in try files.contentsOfDirectory(atPath: shardDirectory)
            where StoreLayout.isBlobName(name) && !referenced.contains(name) {
                FileIO.removeIfExists(shardDirectory + "/" + name)
                removed += 1
            }
        }
        return removed
    }
}
