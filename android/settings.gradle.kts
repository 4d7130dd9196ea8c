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
    }
}
rootProject.name = "dashkeep"
// :ffi is the AAR: generated Kotlin bindings + libdashkeep_ffi.so for each ABI.
include(":ffi", ":viewmodels", ":app")
