import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import ObjectStore
import ObjectStoreEngine
import SigV4
import Testing

/// Bucket versioning through the routes.
@Suite("S3 routes: versioning")
struct S3ResponderVersioningTests {
    typealias T = S3ServerTests
    static let versionHeader = HTTPField.Name("x-amz-version-id")!
    static let markerHeader = HTTPField.Name("x-amz-delete-marker")!

    static func configuration(_ status: String) -> [UInt8] {
        Array("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>\(status)</Status></VersioningConfiguration>".utf8)
    }

    static func all(_ xml: String, _ name: String) -> [String] {
        var values: [String] = []
        var rest = xml[...]
        while let start = rest.range(of: "<\(name)>"), let end = rest.range(of: "</\(name)>", range: start.upperBound..<rest.endIndex) {
            values.append(String(rest[start.upperBound..<end.lowerBound]))
            rest = rest[end.upperBound...]
        }
        return values
    }

    @Test("configuration: never configured, Enabled, Suspended, errors")
    func configuration() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            let empty = try await T.send(client, .get, "/bkt", query: [("versioning", "")])
            #expect(empty.status == .ok)
            #expect(String(buffer: empty.body).contains("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></VersioningConfiguration>"))
            // Unversioned: no version header, as before.
            let plain = try await T.send(client, .put, "/bkt/k", body: Array("x".utf8))
            #expect(plain.headers[Self.versionHeader] == nil)

            #expect(try await T.send(client, .put, "/bkt", query: [("versioning", "")], body: Self.configuration("Enabled")).status == .ok)
            #expect(String(buffer: try await T.send(client, .get, "/bkt", query: [("versioning", "")]).body).contains("<Status>Enabled</Status>"))
            #expect(try await T.send(client, .put, "/bkt", query: [("versioning", "")], body: Self.configuration("Suspended")).status == .ok)
            #expect(String(buffer: try await T.send(client, .get, "/bkt", query: [("versioning", "")]).body).contains("<Status>Suspended</Status>"))

            let bad = try await T.send(client, .put, "/bkt", query: [("versioning", "")], body: Self.configuration("Disabled"))
            #expect(T.xmlCode(bad) == "MalformedXML")
            let none = try await T.send(client, .put, "/bkt", query: [("versioning", "")],
                                        body: Array("<VersioningConfiguration></VersioningConfiguration>".utf8))
            #expect(none.status == .badRequest)
            #expect(T.xmlCode(none) == "IllegalVersioningConfigurationException")
            #expect(T.xmlCode(try await T.send(client, .put, "/bkt", query: [("versioning", "")], body: Array("<nope".utf8))) == "MalformedXML")
            #expect(T.xmlCode(try await T.send(client, .get, "/missing", query: [("versioning", "")])) == "NoSuchBucket")
            // A DELETE of the sub-resource must never delete the bucket.
            try await T.send(client, .delete, "/bkt/k")
            #expect(try await T.send(client, .delete, "/bkt", query: [("versioning", "")]).status == .methodNotAllowed)
            #expect(try await T.send(client, .head, "/bkt").status == .ok)
        }
    }

    @Test("objects: version ids on writes, reads by version, delete markers, version deletes")
    func objects() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            try await T.send(client, .put, "/bkt", query: [("versioning", "")], body: Self.configuration("Enabled"))
            let put1 = try await T.send(client, .put, "/bkt/a b.txt", body: Array("one".utf8))
            let v1 = try #require(put1.headers[Self.versionHeader])
            let put2 = try await T.send(client, .put, "/bkt/a b.txt", body: Array("two".utf8))
            let v2 = try #require(put2.headers[Self.versionHeader])
            #expect(v1 != v2)

            let latest = try await T.send(client, .get, "/bkt/a b.txt")
            #expect(String(buffer: latest.body) == "two")
            #expect(latest.headers[Self.versionHeader] == v2)
            let old = try await T.send(client, .get, "/bkt/a b.txt", query: [("versionId", v1)])
            #expect(String(buffer: old.body) == "one")
            #expect(old.headers[Self.versionHeader] == v1)
            #expect(try await T.send(client, .head, "/bkt/a b.txt", query: [("versionId", v1)]).headers[.contentLength] == "3")

            let unknown = try await T.send(client, .get, "/bkt/a b.txt", query: [("versionId", String(repeating: "a", count: 32))])
            #expect(unknown.status == .notFound)
            #expect(T.xmlCode(unknown) == "NoSuchVersion")
            let malformed = try await T.send(client, .get, "/bkt/a b.txt", query: [("versionId", "../x")])
            #expect(malformed.status == .badRequest)
            #expect(T.xmlCode(malformed) == "InvalidArgument")

            // Copy an older version over the key.
            let copy = try await T.send(client, .put, "/bkt/copy.txt",
                                        headers: [("x-amz-copy-source", "/bkt/a%20b.txt?versionId=\(v1)")])
            #expect(copy.status == .ok)
            #expect(copy.headers[.init("x-amz-copy-source-version-id")!] == v1)
            #expect(copy.headers[Self.versionHeader] != nil)
            #expect(String(buffer: try await T.send(client, .get, "/bkt/copy.txt").body) == "one")

            // DELETE without a version adds a marker.
            let delete = try await T.send(client, .delete, "/bkt/a b.txt")
            #expect(delete.status == .noContent)
            #expect(delete.headers[Self.markerHeader] == "true")
            let marker = try #require(delete.headers[Self.versionHeader])
            let hidden = try await T.send(client, .get, "/bkt/a b.txt")
            #expect(hidden.status == .notFound)
            #expect(T.xmlCode(hidden) == "NoSuchKey")
            #expect(hidden.headers[Self.markerHeader] == "true")
            let markerGet = try await T.send(client, .get, "/bkt/a b.txt", query: [("versionId", marker)])
            #expect(markerGet.status == .methodNotAllowed)
            #expect(T.xmlCode(markerGet) == "MethodNotAllowed")
            #expect(markerGet.headers[Self.markerHeader] == "true")
            let markerHead = try await T.send(client, .head, "/bkt/a b.txt")
            #expect(markerHead.status == .notFound)
            #expect(markerHead.headers[Self.markerHeader] == "true")
            let listed = String(buffer: try await T.send(client, .get, "/bkt", query: [("list-type", "2")]).body)
            #expect(Self.all(listed, "Key") == ["copy.txt"])

            // Deleting the marker brings v2 back; deleting v2 brings v1 back.
            let unmark = try await T.send(client, .delete, "/bkt/a b.txt", query: [("versionId", marker)])
            #expect(unmark.headers[Self.markerHeader] == "true")
            #expect(unmark.headers[Self.versionHeader] == marker)
            #expect(String(buffer: try await T.send(client, .get, "/bkt/a b.txt").body) == "two")
            try await T.send(client, .delete, "/bkt/a b.txt", query: [("versionId", v2)])
            #expect(String(buffer: try await T.send(client, .get, "/bkt/a b.txt").body) == "one")
            #expect(T.xmlCode(try await T.send(client, .delete, "/bkt/a b.txt", query: [("versionId", "x")])) == "InvalidArgument")

            // Multi-object delete by version.
            let body = "<Delete><Object><Key>a b.txt</Key><VersionId>\(v1)</VersionId></Object><Object><Key>copy.txt</Key></Object></Delete>"
            let multi = String(buffer: try await T.send(client, .post, "/bkt", query: [("delete", "")], body: Array(body.utf8)).body)
            #expect(Self.all(multi, "VersionId") == [v1])
            #expect(Self.all(multi, "DeleteMarker") == ["true"])
            #expect(T.xmlCode(try await T.send(client, .get, "/bkt/a b.txt")) == "NoSuchKey")
        }
    }

    @Test("ListObjectVersions: order, pagination with markers, delimiter, suspended null version")
    func listVersions() async throws {
        try await T.makeApp().test(.router) { client in
            try await T.send(client, .put, "/bkt")
            try await T.send(client, .put, "/bkt/a", body: Array("null".utf8))
            try await T.send(client, .put, "/bkt", query: [("versioning", "")], body: Self.configuration("Enabled"))
            let a1 = try #require(try await T.send(client, .put, "/bkt/a", body: Array("a1".utf8)).headers[Self.versionHeader])
            let b1 = try #require(try await T.send(client, .put, "/bkt/d/b", body: Array("b1".utf8)).headers[Self.versionHeader])
            let bm = try #require(try await T.send(client, .delete, "/bkt/d/b").headers[Self.versionHeader])

            let whole = String(buffer: try await T.send(client, .get, "/bkt", query: [("versions", "")]).body)
            #expect(whole.contains("<ListVersionsResult"))
            #expect(Self.all(whole, "VersionId") == [a1, "null", bm, b1])
            #expect(Self.all(whole, "IsLatest") == ["true", "false", "true", "false"])
            #expect(Self.all(whole, "DeleteMarker").count == 1)
            #expect(Self.all(whole, "IsTruncated") == ["false"])

            var seen: [String] = []
            var markers: [(String, String)] = []
            for _ in 0..<10 {
                let page = String(buffer: try await T.send(client, .get, "/bkt", query: [("versions", ""), ("max-keys", "1")] + markers).body)
                seen += Self.all(page, "VersionId")
                guard Self.all(page, "IsTruncated") == ["true"] else { break }
                let key = try #require(Self.all(page, "NextKeyMarker").first)
                let version = try #require(Self.all(page, "NextVersionIdMarker").first)
                markers = [("key-marker", key), ("version-id-marker", version)]
            }
            #expect(seen == [a1, "null", bm, b1])

            let rolled = String(buffer: try await T.send(client, .get, "/bkt", query: [("versions", ""), ("delimiter", "/")]).body)
            #expect(Self.all(rolled, "Prefix") == ["", "d/"])
            #expect(Self.all(rolled, "VersionId") == [a1, "null"])

            // Suspended: writes replace the null version.
            try await T.send(client, .put, "/bkt", query: [("versioning", "")], body: Self.configuration("Suspended"))
            let suspended = try await T.send(client, .put, "/bkt/a", body: Array("s".utf8))
            #expect(suspended.headers[Self.versionHeader] == "null")
            let after = String(buffer: try await T.send(client, .get, "/bkt", query: [("versions", ""), ("prefix", "a")]).body)
            #expect(Self.all(after, "VersionId") == ["null", a1])
            #expect(String(buffer: try await T.send(client, .get, "/bkt/a", query: [("versionId", "null")]).body) == "s")
        }
    }
}
