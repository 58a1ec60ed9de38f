// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "kling-render",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kling-render", targets: ["kling-render"]),
        .library(name: "KlingRenderCore", targets: ["KlingRenderCore"]),
        .library(name: "KlingSimulator", targets: ["KlingSimulator"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(
            name: "KlingRenderCore",
            dependencies: [
                "CYAML",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ]
        ),
        .target(
            name: "KlingAPI",
            dependencies: [
                "KlingRenderCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        .target(
            name: "KlingStore",
            dependencies: [
                "KlingRenderCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "KlingRenderExecution",
            dependencies: [
                "KlingRenderCore",
                "KlingAPI",
                "KlingStore",
                "KlingReview",
                "KlingExport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        .target(
            name: "KlingSimulator",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            resources: [.copy("Resources")]
        ),
        .target(
            name: "KlingState",
            dependencies: [
                "KlingRenderCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "KlingReview",
            dependencies: [
                "KlingRenderCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "KlingExport",
            dependencies: ["KlingRenderCore"]
        ),
        .target(
            name: "KlingRenderCLI",
            dependencies: [
                "KlingRenderCore",
                "KlingReview",
                "KlingExport",
                "KlingAPI",
                "KlingStore",
                "KlingRenderExecution",
                "KlingSimulator",
                "KlingState",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(name: "kling-render", dependencies: ["KlingRenderCLI"]),
        .executableTarget(name: "kling-bench", dependencies: ["KlingRenderCore", "CYAML"]),
        .executableTarget(
            name: "kling-apply-bench",
            dependencies: ["KlingRenderCore", "KlingRenderExecution", "KlingSimulator", "KlingAPI", "KlingState"]
        ),
        .target(name: "KlingTestSupport", path: "Tests/KlingTestSupport"),
        .testTarget(
            name: "KlingRenderCoreTests",
            dependencies: ["KlingRenderCore"]
        ),
        .testTarget(
            name: "KlingRenderExecutionTests",
            dependencies: [
                "KlingRenderExecution", "KlingRenderCore", "KlingSimulator", "KlingAPI", "KlingStore", "KlingReview",
                "KlingTestSupport", .product(name: "JWTKit", package: "jwt-kit"),
            ]
        ),
        .testTarget(
            name: "KlingStoreTests",
            dependencies: ["KlingStore"]
        ),
        .testTarget(
            name: "KlingSimulatorTests",
            dependencies: [
                "KlingSimulator", "KlingAPI", "KlingTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "KlingRenderEndToEndTests",
            dependencies: [
                "KlingRenderCore", "KlingReview", "KlingExport", "KlingRenderExecution", "KlingSimulator", "KlingAPI",
                "KlingStore",
                "KlingTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
    ]
)
