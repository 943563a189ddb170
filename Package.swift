// swift-tools-version:6.0
// Tongban (通办): the device service of a government service counter.
import PackageDescription

/// A system-library target for one C library: `Sources/C<Name>/module.modulemap` + `shim.h`.
func systemLibrary(_ name: String, pkgConfig: String? = nil, apt: String) -> Target {
    .systemLibrary(name: name, pkgConfig: pkgConfig, providers: [.apt([apt])])
}

/// The dynamically loaded SANE backends must find CSANECancelGuard's pthread_setcanceltype in the executable.
let exportCancelGuard: [LinkerSetting] = [.unsafeFlags(["-Xlinker", "--export-dynamic-symbol=pthread_setcanceltype"], .when(platforms: [.linux]))]

let package = Package(
    name: "Tongban",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tongban", targets: ["tongban"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        // MARK: C libraries — one system-library target each, nothing else imports them but its wrapper.
        systemLibrary("CLibUSB", pkgConfig: "libusb-1.0", apt: "libusb-1.0-0-dev"),
        systemLibrary("CSANE", pkgConfig: "sane-backends", apt: "libsane-dev"),
        systemLibrary("CCUPS", apt: "libcups2-dev"),
        systemLibrary("CV4L2", pkgConfig: "libv4l2", apt: "libv4l-dev"),
        systemLibrary("CLeptonica", pkgConfig: "lept", apt: "libleptonica-dev"),
        systemLibrary("CTurboJPEG", pkgConfig: "libturbojpeg", apt: "libturbojpeg0-dev"),
        systemLibrary("CPangoCairo", pkgConfig: "pangocairo", apt: "libpango1.0-dev"),
        systemLibrary("CZint", apt: "libzint-dev"),
        systemLibrary("CGStreamer", pkgConfig: "gstreamer-webrtc-1.0", apt: "libgstreamer-plugins-bad1.0-dev"),
        systemLibrary("CTesseract", pkgConfig: "tesseract", apt: "libtesseract-dev"),
        systemLibrary("CZBar", pkgConfig: "zbar", apt: "libzbar-dev"),
        // The system OpenSSL, for the national algorithms (SM2, SM3, SM4) swift-crypto's BoringSSL does not have.
        systemLibrary("CLibCrypto", pkgConfig: "libcrypto", apt: "libssl-dev"),
        .systemLibrary(name: "CPseudoTerminal"),
        // Makes SANE backends' reader threads cancel only at cancellation points (see its source); compiled C,
        // exported from every executable that loads SANE backends.
        .target(name: "CSANECancelGuard", linkerSettings: [.linkedLibrary("dl")]),

        // MARK: Safe Swift wrappers — no Unsafe*/OpaquePointer in their public API.
        .target(name: "LibUSB", dependencies: ["CLibUSB", "TongbanCore"]),
        .target(name: "SANE", dependencies: ["CSANE", "CSANECancelGuard", "TongbanCore"]),
        .target(name: "CUPS", dependencies: ["CCUPS", "TongbanCore"]),
        .target(name: "V4L2", dependencies: ["CV4L2", "TongbanCore"]),
        .target(name: "Leptonica", dependencies: ["CLeptonica"]),
        .target(name: "TurboJPEG", dependencies: ["CTurboJPEG"]),
        .target(name: "PangoCairo", dependencies: ["CPangoCairo"]),
        .target(name: "Zint", dependencies: ["CZint"]),
        .target(name: "GStreamer", dependencies: ["CGStreamer"]),
        .target(name: "Tesseract", dependencies: ["CTesseract", "TongbanCore"]),
        .target(name: "ZBar", dependencies: ["CZBar", "TongbanCore"]),
        .target(name: "LibCrypto", dependencies: ["CLibCrypto", "TongbanCore"]),

        // MARK: The product.
        .target(name: "TongbanCore", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // Resources/devices.yaml: the device quirk data built in (a hall's own file can replace it: devices.quirks).
        .target(name: "TongbanConfig", dependencies: ["TongbanCore", "Yams"], resources: [.copy("Resources/devices.yaml")]),
        .target(name: "Store", dependencies: [
            "TongbanCore", "LibCrypto",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            // scrypt for the clerks' PINs.
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SAMProtocol", dependencies: ["TongbanCore"]),
        .target(name: "ArchivalPDF"),
        // OFD (GB/T 33190-2016) packages of the same pages.
        .target(name: "ArchivalOFD", dependencies: ["ArchivalPDF"]),
        .target(name: "Receipts", dependencies: ["TongbanCore"]),
        .target(name: "Notices", dependencies: [
            "TongbanCore", "PangoCairo", "Zint", "ArchivalPDF", "Yams",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        .target(name: "Imaging", dependencies: ["TongbanCore", "Leptonica", "TurboJPEG", "Tesseract", "ZBar", "ArchivalPDF"]),
        .target(name: "Printing", dependencies: [
            "CUPS", "Notices", "Receipts", "Store", "Delivery", "TongbanCore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "Scanning", dependencies: [
            "SANE", "Imaging", "ArchivalPDF", "ArchivalOFD", "Store", "Delivery", "TongbanCore", "Tesseract", "ZBar",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Cameras", dependencies: [
            "V4L2", "TurboJPEG", "Imaging", "ArchivalPDF", "ArchivalOFD", "PangoCairo", "Store", "Delivery", "TongbanCore", "Tesseract", "ZBar",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "IDCard", dependencies: [
            "TongbanCore", "SAMProtocol", "Store", "LibUSB", "TurboJPEG",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "Simulators", dependencies: ["TongbanCore", "SAMProtocol", "IDCard", "CPseudoTerminal"]),
        .target(name: "Delivery", dependencies: [
            "TongbanCore", "Store",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "Assist", dependencies: [
            "GStreamer", "TongbanCore", "Store", "Delivery",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOFoundationCompat", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "Devices", dependencies: [
            "TongbanCore", "TongbanConfig", "Store", "LibUSB", "SANE", "CUPS", "V4L2",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "API", dependencies: [
            "TongbanCore", "TongbanConfig", "Store", "Devices", "SAMProtocol", "IDCard", "Simulators", "Delivery", "Imaging", "Scanning", "Printing", "Notices", "Receipts", "Cameras", "Assist",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            // ES256 case-system assertions (SM2 ones through LibCrypto).
            .product(name: "Crypto", package: "swift-crypto"),
            "LibCrypto",
        ], resources: [.copy("Resources")]),
        .target(name: "Doctor", dependencies: [
            "TongbanCore", "TongbanConfig", "Store", "Devices", "SANE", "CUPS", "LibUSB", "V4L2", "IDCard",
            "Leptonica", "TurboJPEG", "PangoCairo", "Zint", "GStreamer", "Notices", "Assist", "Tesseract", "ZBar", "LibCrypto",
        ]),
        .executableTarget(name: "tongban", dependencies: [
            "TongbanCore", "TongbanConfig", "Store", "Devices", "API", "Doctor", "SAMProtocol", "IDCard", "Simulators", "LibUSB", "Delivery", "Scanning", "Imaging", "TurboJPEG", "ArchivalPDF", "ArchivalOFD", "SANE", "Leptonica", "Notices", "Receipts", "Printing", "CUPS", "Cameras", "V4L2", "Assist", "Tesseract", "ZBar", "LibCrypto",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], linkerSettings: exportCancelGuard),

        // MARK: Tests
        .testTarget(name: "TongbanTests", dependencies: [
            "TongbanCore", "TongbanConfig", "Store", "Devices", "API", "Doctor", "SAMProtocol", "IDCard", "Simulators", "Delivery", "Scanning", "Imaging", "ArchivalPDF", "ArchivalOFD", "Receipts", "Notices", "Printing", "Cameras",
            "SANE", "CUPS", "LibUSB", "V4L2", "Leptonica", "TurboJPEG", "PangoCairo", "Zint", "GStreamer", "Assist", "Tesseract", "ZBar", "LibCrypto",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
        ], exclude: ["Golden"], linkerSettings: exportCancelGuard),
    ]
)

// The libFuzzer target exists only for scripts/fuzz, which builds it with -sanitize=fuzzer,address: without
// libFuzzer's runtime it cannot link.
if Context.environment["TONGBAN_FUZZ"] == "1" {
    package.targets.append(.executableTarget(
        name: "FuzzSAMDecoder", dependencies: ["SAMProtocol"], path: "Fuzz/SAMDecoder"))
}
