// swift-tools-version:5.9
// The Dashkeep iOS app as a Swift package Xcode opens. Run ../build-xcframework.sh first: it
// builds DashkeepFFI.xcframework (the Rust core) and generates Sources/DashkeepFFI/DashkeepFFI.swift.
import PackageDescription

let package = Package(
    name: "Dashkeep",
    platforms: [.iOS(.v17)],
    products: [
        .library(name: "DashkeepViewModels", targets: ["DashkeepViewModels"]),
        .library(name: "DashkeepApp", targets: ["DashkeepApp"]),
    ],
    targets: [
        // The static Rust library and its C header/module map (DashkeepFFIFFI).
        .binaryTarget(name: "DashkeepFFIFFI", path: "DashkeepFFI.xcframework"),
        // The generated Swift bindings.
        // The system frameworks the Rust core calls (btleplug, rustls, the network stack).
        .target(
            name: "DashkeepFFI", dependencies: ["DashkeepFFIFFI"], path: "Sources/DashkeepFFI",
            linkerSettings: [
                .linkedFramework("CoreBluetooth"), .linkedFramework("Security"),
                .linkedFramework("SystemConfiguration"), .linkedLibrary("resolv"),
            ]
        ),
        // @Observable view models: map the core's results and events to screen state.
        .target(name: "DashkeepViewModels", dependencies: ["DashkeepFFI"], path: "Sources/DashkeepViewModels"),
        // SwiftUI screens: render the view models only.
        .target(name: "DashkeepApp", dependencies: ["DashkeepViewModels", "DashkeepFFI"], path: "Sources/DashkeepApp"),
    ]
)
