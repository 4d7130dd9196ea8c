// The Dashkeep Android app. Open this folder in Android Studio.
// Before the first build: ./build-native.sh (Rust libraries for each ABI + Kotlin bindings).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
        // The Kotlin half of rustls-platform-verifier (HTTPS from Rust with Android's trust
        // store) ships as a Maven repository inside the crate's sources.
        maven {
            url = uri(rustlsPlatformVerifierRepo())
            metadataSources { artifact() }
        }
    }
}

/** The `maven` folder of the rustls-platform-verifier-android crate the FFI crate builds with. */
fun rustlsPlatformVerifierRepo(): String {
    val json = providers.exec {
        workingDir = rootDir.parentFile
        commandLine(
            "cargo", "metadata", "--format-version", "1", "--filter-platform", "aarch64-linux-android",
            "--manifest-path", "bindings/Cargo.toml",
        )
    }.standardOutput.asText.get()
    @Suppress("UNCHECKED_CAST")
    val packages = (groovy.json.JsonSlurper().parseText(json) as Map<String, Any>)["packages"] as List<Map<String, Any>>
    val manifest = packages.first { it["name"] == "rustls-platform-verifier-android" }["manifest_path"] as String
    return File(File(manifest).parentFile, "maven").path
}
rootProject.name = "dashkeep"
// :ffi is the AAR: generated Kotlin bindings + libdashkeep_ffi.so for each ABI.
include(":ffi", ":viewmodels", ":app")
