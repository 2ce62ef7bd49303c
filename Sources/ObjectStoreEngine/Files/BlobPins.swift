import Synchronization

/// Blobs that open readers still need: removing one waits until the last reader lets go.
///
/// A reader of an object in many segments opens its files as it reaches them (at most a few at
/// once) instead of all at open; pinning keeps the files it has not opened yet from being removed
/// when the object is overwritten or deleted meanwhile, so it still reads the bytes it started
/// with. A crash forgets the pins and the waiting removals: the blob GC at the next start removes
/// the files no row references.
final class BlobPins: Sendable {
    private struct State {
        var counts: [String: Int] = [:]
        var waiting: Set<String> = []
    }

    private let state = Mutex(State())

    /// Pins `blobs` (a blob listed twice is pinned twice).
    func pin(_ blobs: [String]) {
        state.withLock { state in
            for blob in blobs { state.counts[blob, default: 0] += 1 }
        }
    }

    /// Unpins `blobs`; returns those whose removal was waiting for this and may now go.
    func unpin(_ blobs: [String]) -> [String] {
        state.withLock { state in
            var free: [String] = []
            for blob in blobs {
                guard let count = state.counts[blob] else { continue }
                if count > 1 {
                    state.counts[blob] = count - 1
                } else {
                    state.counts[blob] = nil
                    if state.waiting.remove(blob) != nil { free.append(blob) }
                }
            }
            return free
        }
    }

    /// Of `blobs` to remove, those free to go now; the pinned ones wait for their last ``unpin(_:)``.
    func removable(_ blobs: [String]) -> [String] {
        state.withLock { state in
            guard !state.counts.isEmpty else { return blobs }
            return blobs.filter { blob in
                guard state.counts[blob] != nil else { return true }
                state.waiting.insert(blob)
                return false
            }
        }
    }

    /// How many blobs are pinned (for the tests).
    var pinnedCount: Int { state.withLock { $0.counts.count } }
}
