// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "hoist",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hoist", targets: ["hoist"]),
        .library(name: "SigV4", targets: ["SigV4"]),
        .library(name: "S3", targets: ["S3"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // Small helpers every target shares (hex, ETag text, JSON string literals), `package` access.
        .target(
            name: "HoistSupport",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SigV4",
            dependencies: ["HoistSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "S3",
            dependencies: [
                "SigV4",
                "HoistSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // `hoist bucket setup` and `hoist bucket doctor`: a bucket's settings read, planned, written and judged.
        .target(
            name: "BucketKit",
            dependencies: [
                "S3",
                "SigV4",
                "HoistSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The least-privilege IAM policies of `hoist api` and `hoist worker` (`hoist iam-policy`).
        .target(
            name: "HoistIAM",
            dependencies: ["HoistSupport"],
            swiftSettings: swiftSettings
        ),
        // S3 event notifications and the EventQueue protocol: no HTTP client.
        .target(
            name: "Events",
            swiftSettings: swiftSettings
        ),
        // Amazon SQS as an EventQueue.
        .target(
            name: "SQS",
            dependencies: [
                "Events",
                "SigV4",
                "HoistSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ObjectStoreEngine",
            dependencies: [
                "Events",
                "HoistSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ObjectStore",
            dependencies: [
                "SigV4",
                "HoistSupport",
                "Events",
                "ObjectStoreEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FlatJSON",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Auth",
            dependencies: [
                "FlatJSON",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The upload domain and its records: no HTTP, no Auth (the worker links it).
        .target(
            name: "Uploads",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The upload API: the service that signs URLs, its routes, JSON errors.
        .target(
            name: "UploadsAPI",
            dependencies: [
                "Uploads",
                "FlatJSON",
                "HoistSupport",
                "SigV4",
                "S3",
                "Auth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Upload records and the shared rate limit in PostgreSQL (postgres-nio), for N API replicas.
        // Its own target, so `Uploads` (and the worker library, which links only it) stays free of postgres-nio.
        .target(
            name: "UploadsPostgres",
            dependencies: [
                "Uploads",
                "Events",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // libvips in process, loaded at run time (dlopen): builds without libvips or its headers.
        .target(
            name: "CVips",
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        .target(
            name: "ImageWorker",
            dependencies: [
                "CVips",
                "Events",
                "Uploads",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HoistServer",
            dependencies: [
                "Uploads",
                "UploadsAPI",
                "UploadsPostgres",
                "SQS",
                "ImageWorker",
                "Events",
                "ObjectStoreEngine",
                "ObjectStore",
                "Auth",
                "S3",
                "SigV4",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Web/package.json"],
            resources: [.embedInCode("Web/index.html"), .embedInCode("Web/hoist-upload.js"), .embedInCode("openapi.yaml")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hoist",
            dependencies: [
                "SigV4",
                "S3",
                "ObjectStore",
                "HoistServer",
                "UploadsPostgres",
                "Auth",
                "HoistIAM",
                "BucketKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzzing (README, "Fuzzing"): a shared harness, and two fuzz
        // executables split by dependency weight, because `--sanitize fuzzer` instruments every module a
        // product links. `HoistFuzz` holds the light parsers (SigV4, FlatJSON, Events); `HoistFuzzStore`
        // the ones behind Hummingbird, NIO, GRDB and JWTKit (ObjectStore, Auth, ImageWorker).
        .target(
            name: "HoistFuzzKit",
            path: "Fuzz/Sources/HoistFuzzKit",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HoistFuzz",
            dependencies: ["HoistFuzzKit", "SigV4", "FlatJSON", "Events", "HoistSupport"],
            path: "Fuzz/Sources/HoistFuzz",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "HoistFuzzStore",
            dependencies: [
                "HoistFuzzKit",
                "ObjectStore",
                "ObjectStoreEngine",
                "Auth",
                "ImageWorker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/Sources/HoistFuzzStore",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SigV4Benchmarks",
            dependencies: ["SigV4", .product(name: "Crypto", package: "swift-crypto")],
            path: "Benchmarks/SigV4Benchmarks",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SigV4Tests",
            dependencies: ["SigV4", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Resources/vectors")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ObjectStoreEngineTests",
            dependencies: ["ObjectStoreEngine", "Events", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ObjectStoreTests",
            dependencies: [
                "ObjectStore",
                "ObjectStoreEngine",
                "Events",
                "SigV4",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FlatJSONTests",
            dependencies: ["FlatJSON"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AuthTests",
            dependencies: [
                "Auth",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HoistSupportTests",
            dependencies: ["HoistSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "UploadsTests",
            dependencies: [
                "Uploads",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "UploadsAPITests",
            dependencies: [
                "UploadsAPI",
                "Uploads",
                "Auth",
                "S3",
                "SigV4",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The record store's conformance tests (SQLite and a real PostgreSQL), the shared rate limit,
        // migrations, and the API's 503 while PostgreSQL is down; Support/ starts PostgreSQL.
        .testTarget(
            name: "UploadsPostgresTests",
            dependencies: [
                "UploadsPostgres",
                "Events",
                "Uploads",
                "UploadsAPI",
                "Auth",
                "S3",
                "SigV4",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ImageWorkerTests",
            dependencies: ["ImageWorker", "HoistServer", "ObjectStoreEngine", "Events", "Uploads",
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HoistServerTests",
            dependencies: [
                "HoistServer",
                "ImageWorker",
                "Uploads",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // CredentialChain and the container credentials provider (against a Hummingbird server on 127.0.0.1).
        .testTarget(
            name: "S3Tests",
            dependencies: [
                "S3",
                "SigV4",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BucketKitTests",
            dependencies: ["BucketKit", "S3"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HoistIAMTests",
            dependencies: ["HoistIAM"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SQSTests",
            dependencies: [
                "SQS",
                "Events",
                "SigV4",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "S3ClientTests",
            dependencies: [
                "S3",
                "SigV4",
                "ObjectStore",
                "ObjectStoreEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `hoist` command's own logic (the multipart upload's resume file, part plan, retry decisions).
        .testTarget(
            name: "hoistTests",
            dependencies: ["hoist"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
