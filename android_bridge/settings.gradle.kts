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
include(":core", ":bridge", ":jvm")
