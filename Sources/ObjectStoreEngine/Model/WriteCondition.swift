/// A condition a write must meet, checked inside the transaction that publishes it.
public enum WriteCondition: Sendable, Hashable {
    /// Write unconditionally.
    case none
    /// `If-None-Match: *`: write only if the key has no object.
    case ifNoneMatchAny
    /// `If-Match: "<etag>"`: write only if the key's object has this etag.
    ///
    /// The etag is lowercase hex; quotes and uppercase are tolerated, a weak
    /// `W/"…"` tag never matches, and `*` matches any existing object.
    case ifMatch(String)
}
