// Sample app (source only; not built on the nhkit development machine). The nhkit library is
// taken from the source tree as a composite build.
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

rootProject.name = "nhkit-selftest-sample"
include(":app")

includeBuild("../..") {
    dependencySubstitution {
        substitute(module("dev.nhkit:nhkit-android")).using(project(":bridge"))
        substitute(module("dev.nhkit:nhkit-core")).using(project(":core"))
    }
}
