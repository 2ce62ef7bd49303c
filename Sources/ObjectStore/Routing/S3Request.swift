import Foundation
import HTTPTypes
import Hummingbird
import SigV4

/// What the store needs of an HTTP request: method, raw and decoded path and
/// query, the bucket and key it addresses (path-style), and its headers.
struct S3Request: Sendable {
    let method: String
    /// The raw (still encoded) path and query, as SigV4 verification needs them.
    let rawPath: String
    let rawQuery: String
    /// The bucket (`nil` for service-level requests such as ListBuckets).
    let bucket: String?
    /// The object key (`nil` for bucket-level requests).
    let key: String?
    /// Decoded query parameters; the first value of each name.
    let query: [String: String]
    /// Headers as received, `host` included.
    let headers: [(String, String)]

    init(method: String, target: String, headers: [(String, String)]) throws(S3Error) {
        self.method = method
        let question = target.firstIndex(of: "?")
        rawPath = question.map { String(target[..<$0]) } ?? target
        rawQuery = question.map { String(target[target.index(after: $0)...]) } ?? ""
        self.headers = headers

        var query: [String: String] = [:]
        for part in rawQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let eq = part.firstIndex(of: "=")
            let rawName = eq.map { part[..<$0] } ?? part
            let rawValue = eq.map { part[part.index(after: $0)...] } ?? ""
            guard let name = S3URIEncoding.decode(rawName), let value = S3URIEncoding.decode(rawValue) else {
                throw S3Error(.invalidArgument, "Couldn't parse the specified URI: a query parameter is not valid percent-encoded UTF-8.")
            }
            if query[name] == nil { query[name] = value }
        }
        self.query = query

        var path = Substring(rawPath)
        while path.first == "/" { path = path.dropFirst() }
        if path.isEmpty {
            bucket = nil
            key = nil
        } else {
            let slash = path.firstIndex(of: "/")
            let rawBucket = slash.map { path[..<$0] } ?? path
            guard let decodedBucket = S3URIEncoding.decode(rawBucket) else {
                throw S3Error(.invalidArgument, "Couldn't parse the specified URI: the bucket is not valid percent-encoded UTF-8.")
            }
            bucket = decodedBucket
            if let slash, path.index(after: slash) < path.endIndex {
                guard let decodedKey = S3URIEncoding.decode(path[path.index(after: slash)...]) else {
                    throw S3Error(.invalidArgument, "Couldn't parse the specified URI: the key is not valid percent-encoded UTF-8.")
                }
                key = decodedKey
            } else {
                key = nil
            }
        }
    }

    /// The first value of a header (case-insensitive).
    func header(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// `/bucket/key`, the `Resource` of error bodies.
    var resource: String {
        guard let bucket else { return "/" }
        guard let key else { return "/\(bucket)" }
        return "/\(bucket)/\(key)"
    }

    /// The request as the SigV4 verifier reads it.
    var received: ReceivedRequest { ReceivedRequest(method: method, path: rawPath, query: rawQuery, headers: headers) }
}

extension Request {
    /// Headers as (name, value) pairs, with `host` restored from the authority
    /// (HTTP types move HTTP/1's Host header there).
    var headerPairs: [(String, String)] {
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(headers.count + 1)
        if let authority = head.authority { pairs.append(("host", authority)) }
        for field in headers { pairs.append((field.name.rawName, field.value)) }
        return pairs
    }
}
