#!/usr/bin/env bash
# Builds libdashkeep_ffi.so for each Android ABI with cargo-ndk and generates the Kotlin bindings
# into the :ffi module, which Gradle packs into the AAR (./gradlew :ffi:assembleRelease) and the
# app. Needs: the Android NDK (ANDROID_NDK_HOME), `cargo install cargo-ndk`, and
# `rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`.
# Usage: android/build-native.sh [release|debug]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
profile="${1:-release}"
flag=(); [ "$profile" = release ] && flag=(--release)
out="$here/ffi/build/generated"

cd "$root"
# arm64-v8a: phones; armeabi-v7a: 32-bit phones (checksums stay on, see docs/mobile.md);
# x86_64: the emulator. -P 26 = minSdk.
# --no-default-features: no btleplug on Android; the app's Kotlin BLE central
# (platform/AndroidBleCentral.kt) is the BLE path (docs/mobile.md, "The Android platform layer").
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 -P 26 -o "$out/jniLibs" \
  build -p dashkeep-ffi --lib --no-default-features "${flag[@]}"

# The bindings are generated from the host build of the same source (library mode reads the
# metadata the library embeds; it is the same for every target).
cargo build -p dashkeep-ffi --lib "${flag[@]}"
rm -rf "$out/uniffi"
cargo run -q -p dashkeep-ffi --bin uniffi-bindgen -- generate --config bindings/uniffi-android.toml \
  --library "target/$profile/libdashkeep_ffi.so" --language kotlin --out-dir "$out/uniffi"
echo "native libraries in $out/jniLibs, Kotlin bindings in $out/uniffi"
echo "next: cd android && ./gradlew :ffi:assembleRelease (the AAR) or :app:installDebug"
