// The app's view models: pure Kotlin (StateFlow + coroutines, no android.* imports), so the same
// sources compile and are unit-tested on a plain JVM by Maven (pom.xml beside this file, run from
// scripts/kotlin-tests). Gradle builds them as an Android library only because the bindings
// they call come in the :ffi AAR.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "org.dashkeep.app.viewmodels"
    compileSdk = 36
    defaultConfig { minSdk = 26 }
    sourceSets["main"].java.srcDir("src/main/kotlin")
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin { jvmToolchain(17) }

dependencies {
    api(project(":ffi"))
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}
