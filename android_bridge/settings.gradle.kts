// nhkit Android library: `core` (plain Java 11, no dependencies) and `bridge` (Android library,
// LiteRT + androidx ExifInterface). Build with Gradle 8.9+ / Android Studio, JDK 17, Android SDK 35.
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

rootProject.name = "nhkit-android"
include(":core", ":bridge")
// The JVM engine (java.lang.foreign, JDK 22+ toolchain) is opt-in so that an Android build, or an
// app including this build, never needs a JDK 22: ./gradlew -Pnhkit.jvm=true :jvm:test
if (providers.gradleProperty("nhkit.jvm").getOrElse("false") == "true") {
    include(":jvm")
}
