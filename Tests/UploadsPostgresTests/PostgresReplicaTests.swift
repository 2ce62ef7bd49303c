import Foundation
import Testing
import Uploads
@testable import UploadsPostgres

/// What only PostgreSQL has to prove: replicas racing for articles, migrations at start, and
/// the rate limit shared by replicas.
@Suite("PostgreSQL: replicas, migrations, shared rate limit",
       .disabled(if: PostgresServer.skipped, "PostgreSQL is not installed (apt-get install postgresql; HOIST_REQUIRE_POSTGRES=1 makes this a failure)"))
struct PostgresReplicaTests {
    @Test("two replicas claiming the same new articles: exactly one owner each; one user from both replicas gets both")
    func racingClaims() async throws {
        try await PostgresServer.run { server async throws in
            try await server.withDatabase { one async throws in
                try await server.withDatabase { two async throws in
                    let a = PostgresUploadRecordStore(database: one), b = PostgresUploadRecordStore(database: two)
                    let articles = (0..<40).map { _ in UUID().uuidString.lowercased() }
                    // Even articles: alice on one replica against bob on the other. Odd ones: alice on both.
                    let results = try await withThrowingTaskGroup(of: (String, String, Bool).self) { group in
                        for (i, article) in articles.enumerated() {
                            let rival = i % 2 == 0 ? "bob" : "alice"
                            group.addTask { (article, "alice", try await a.record(sampleRecord(article, "alice", 2 * i))) }
                            group.addTask { (article, rival, try await b.record(sampleRecord(article, rival, 2 * i + 1))) }
                        }
                        return try await group.reduce(into: [(String, String, Bool)]()) { $0.append($1) }
                    }
                    for (i, article) in articles.enumerated() {
                        let mine = results.filter { $0.0 == article }
                        let stored = try await b.uploads(inArticle: article)
                        let owner = try #require(try await a.owner(ofArticle: article))
                        if i % 2 == 0 {
                            #expect(mine.filter(\.2).count == 1, "exactly one of alice and bob wins \(article)")
                            #expect(mine.first(where: \.2)?.1 == owner)
                            #expect(stored.count == 1 && stored.first?.owner == owner, "the loser wrote nothing")
                        } else {
                            #expect(mine.allSatisfy { $0.2 }, "the same user is never refused their own new article")
                            #expect(owner == "alice" && stored.count == 2)
                        }
                    }
                }
            }
        }
    }

    @Test("replicas starting at once migrate once, under the advisory lock")
    func concurrentMigrations() async throws {
        try await PostgresServer.run { server async throws in
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 {
                    group.addTask { try await server.withDatabase(migrate: false) { try await $0.migrate() } }
                }
                return try await group.reduce(into: [[Int]]()) { $0.append($1) }
            }
            let all = (1...PostgresUploadsDatabase.latestSchemaVersion).map { $0 }
            #expect(applied.filter { $0 == all }.count == 1, "one replica applied the migrations")
            #expect(applied.filter(\.isEmpty).count == 3, "the others found the schema current")
            try await server.withDatabase { database async throws in
                #expect(try await database.schemaVersion() == PostgresUploadsDatabase.latestSchemaVersion)
                #expect(try await database.migrate() == [])
            }
        }
    }

    @Test("a database of schema 2 (before multipart uploads) migrates to the latest and keeps its records")
    func upgradeToMultipart() async throws {
        try await PostgresServer.run { server async throws in
            let article = UUID().uuidString.lowercased()
            let old = sampleRecord(article, "carol", 3)
            try await server.withDatabase(migrate: false) { database async throws in
                #expect(try await database.migrate(to: Array(PostgresUploadsDatabase.migrations.prefix(2))) == [1, 2])
                #expect(try await PostgresUploadRecordStore(database: database).record(old))
            }
            try await server.withDatabase(migrate: false) { database async throws in
                #expect(try await database.migrate() == Array(3...PostgresUploadsDatabase.latestSchemaVersion))
                let store = PostgresUploadRecordStore(database: database)
                #expect(try await store.upload(key: old.key) == old)
                let upload = MultipartRecordConformanceTests.multipart("after-upgrade", article: article)
                try await store.recordMultipart(upload)
                #expect(try await store.multipartUpload(id: "after-upgrade") == upload)
            }
        }
    }

    @Test("a database of schema 4 (before responsive variants) migrates to 5: its records keep their state, with no variants")
    func upgradeToVariants() async throws {
        try await PostgresServer.run { server async throws in
            let article = UUID().uuidString.lowercased()
            let old = sampleRecord(article, "dora", 4)
            try await server.withDatabase(migrate: false) { database async throws in
                #expect(try await database.migrate(to: Array(PostgresUploadsDatabase.migrations.prefix(4))) == [1, 2, 3, 4])
                #expect(try await PostgresUploadRecordStore(database: database).record(old))
            }
            try await server.withDatabase(migrate: false) { database async throws in
                #expect(try await database.migrate() == [5])
                #expect(try await database.schemaVersion() == 5)
                let store = PostgresUploadRecordStore(database: database)
                let read = try #require(try await store.upload(key: old.key))
                #expect(read == old && read.variants.isEmpty && read.placeholder == nil && !read.locationRemoved)
                var processed = old
                processed.status = .processed
                processed.variants = [ImageVariant(width: 320, height: 200, format: .avif, key: "articles/\(article)/processed/4/w320.avif")]
                processed.placeholder = "data:image/webp;base64,AAAA"
                processed.locationRemoved = true
                try await store.update(processed)
                #expect(try await store.upload(key: processed.key) == processed)
            }
        }
    }

    @Test("a schema newer than the binary knows is refused with a clear message")
    func newerSchemaRefused() async throws {
        try await PostgresServer.run { server async throws in
            let newer = PostgresUploadsDatabase.latestSchemaVersion + 1
            try await server.withDatabase { database async throws in
                try await database.query("INSERT INTO hoist_schema_version (version, name) VALUES (\(newer), 'from the future')") { rows in
                    for try await _ in rows {}
                }
            }
            do {
                try await server.withDatabase { _ in }
                Issue.record("an older binary migrated a newer schema")
            } catch let error as PostgresStoreError {
                #expect(error.code == .schemaTooNew)
                #expect(error.message.contains("version \(newer)"))
            }
            // An older binary (one migration fewer) refuses the current schema the same way.
            _ = try await server.withDatabase(migrate: false) { database async throws in
                await #expect(throws: PostgresStoreError.self) { try await database.migrate(to: []) }
            }
        }
    }

    @Test("the rate limit is shared: two replicas give a user 60 URLs in all, then refill at the rate")
    func sharedRateLimit() async throws {
        try await PostgresServer.run { server async throws in
            try await server.withDatabase { one async throws in
                try await server.withDatabase { two async throws in
                    let limiters = [PostgresRateLimiter(database: one, ratePerMinute: 60, burst: 60),
                                    PostgresRateLimiter(database: two, ratePerMinute: 60, burst: 60)]
                    let now = Date(timeIntervalSince1970: 1_800_000_000)
                    let answers = try await withThrowingTaskGroup(of: Int?.self) { group in
                        for n in 0..<120 { group.addTask { try await limiters[n % 2].acquire("alice", now: now) } }
                        return try await group.reduce(into: [Int?]()) { $0.append($1) }
                    }
                    #expect(answers.filter { $0 == nil }.count == 60, "60 URLs in all across both replicas")
                    #expect(answers.compactMap { $0 }.allSatisfy { $0 == 1 }, "the refused wait one second for the next token")
                    // Another user has their own bucket.
                    #expect(try await limiters[1].acquire("bob", now: now) == nil)
                    // One second later: one more token (60 a minute), whichever replica asks.
                    let later = now.addingTimeInterval(1)
                    #expect(try await limiters[1].acquire("alice", now: later) == nil)
                    #expect(try await limiters[0].acquire("alice", now: later) == 1)
                    // A replica whose clock lags does not refill the bucket twice.
                    #expect(try await limiters[0].acquire("alice", now: now) != nil)
                }
            }
        }
    }
}

@Suite("PostgreSQL configuration")
struct PostgresConfigurationTests {
    @Test("a database URL is read, and its password never printed")
    func configurationURL() throws {
        let configuration = try PostgresConfiguration(url: "postgres://hoist:s3cr%40t@db.internal:6543/records?sslmode=require")
        #expect(configuration.host == "db.internal" && configuration.port == 6543)
        #expect(configuration.username == "hoist" && configuration.password == "s3cr@t" && configuration.database == "records")
        #expect(configuration.tls == .require)
        #expect(configuration.redactedURL == "postgres://hoist:***@db.internal:6543/records")
        #expect(!configuration.redactedURL.contains("s3cr"))
        for bad in ["mysql://x@y/z", "postgres:///nohost", "postgres://h/db?sslmode=sometimes", "postgres://h/db?foo=1"] {
            #expect(throws: PostgresStoreError.self) { try PostgresConfiguration(url: bad) }
        }
        do { _ = try PostgresConfiguration(url: "postgres://u:topsecret@h/db?sslmode=maybe") } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }
}
