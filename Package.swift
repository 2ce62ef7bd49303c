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
    ],
    targets: [
        .target(
            name: "SigV4",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "S3",
            dependencies: ["SigV4"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hoist",
            dependencies: [
                "SigV4",
                "S3",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
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
            dependencies: ["SigV4"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "S3Tests",
            dependencies: ["S3"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
