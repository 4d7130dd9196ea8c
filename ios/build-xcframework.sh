#!/usr/bin/env bash
# Builds the Rust core for iOS (device + simulators) as a static library, generates the Swift
# bindings, and assembles DashkeepFFI.xcframework + Sources/DashkeepFFI/DashkeepFFI.swift inside
# the Swift package (ios/Dashkeep) that Xcode opens. Runs on macOS with Xcode; needs
# `rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
pkg="$here/Dashkeep"
gen="$here/build/generated"
cd "$root"

for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build -p dashkeep-ffi --lib --release --target "$t"
done

# Swift bindings from the host build (library mode; same metadata for every target).
cargo build -p dashkeep-ffi --lib --release
rm -rf "$gen" && mkdir -p "$gen/headers"
cargo run -q -p dashkeep-ffi --bin uniffi-bindgen -- generate \
  --library target/release/libdashkeep_ffi.dylib --language swift --out-dir "$gen"
cp "$gen/DashkeepFFIFFI.h" "$gen/headers/"
# Xcode finds the C module through a file named module.modulemap in the headers directory.
cp "$gen/DashkeepFFIFFI.modulemap" "$gen/headers/module.modulemap"

# One fat simulator library (Apple silicon + Intel simulators).
mkdir -p target/ios-sim-universal/release
lipo -create target/aarch64-apple-ios-sim/release/libdashkeep_ffi.a \
  target/x86_64-apple-ios/release/libdashkeep_ffi.a \
  -output target/ios-sim-universal/release/libdashkeep_ffi.a

rm -rf "$pkg/DashkeepFFI.xcframework"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libdashkeep_ffi.a -headers "$gen/headers" \
  -library target/ios-sim-universal/release/libdashkeep_ffi.a -headers "$gen/headers" \
  -output "$pkg/DashkeepFFI.xcframework"
cp "$gen/DashkeepFFI.swift" "$pkg/Sources/DashkeepFFI/DashkeepFFI.swift"
echo "open $pkg/Package.swift in Xcode (scheme DashkeepApp)"
