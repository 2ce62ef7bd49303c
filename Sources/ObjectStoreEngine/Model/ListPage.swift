/// One entry of a listing: an object, or a common prefix that stands for all the keys under it.
public enum ListEntry: Sendable, Hashable {
    /// An object whose key has no delimiter after the prefix.
    case object(ObjectInfo)
    /// `prefix` + the remainder of some keys up to and including the first delimiter.
    case commonPrefix(String)

    /// The string the entry sorts by: the object's key or the common prefix.
    ///
    /// The last entry's name is the marker (or continuation token) of the next page.
    public var name: String {
        switch self {
        case .object(let info): return info.key
        case .commonPrefix(let prefix): return prefix
        }
    }
}

/// A page of a listing, from ``StorageEngine/list(bucket:prefix:delimiter:after:maxKeys:)``.
public struct ListPage: Sendable {
    /// Objects and common prefixes, in UTF-8 byte order of ``ListEntry/name``.
    public let entries: [ListEntry]
    /// Whether more entries follow: list again with `after` set to the last entry's name.
    public let isTruncated: Bool

    /// Creates a page.
    public init(entries: [ListEntry], isTruncated: Bool) {
        self.entries = entries
        self.isTruncated = isTruncated
    }
}
