// Sample app: runs the self-test of the bundle copied into assets/nhkit/<bundle_id>/.
plugins {
    id("com.android.application")
}

android {
    namespace = "dev.nhkit.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.nhkit.sample"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_11
        targetCompatibility = JavaVersion.VERSION_11
    }

    // The model is memory-mapped from the APK: it must be stored uncompressed.
    androidResources {
        noCompress += listOf("tflite")
    }
}

dependencies {
    implementation("dev.nhkit:nhkit-android:0.1.0")
}

// -Pnhkit.bundle=/abs/path/<bundle_id> copies that bundle folder to assets/nhkit/<bundle_id>/.
val nhkitBundle: String? = providers.gradleProperty("nhkit.bundle").orNull
val bundleAssets = layout.buildDirectory.dir("generated/nhkit-assets")
val copyBundle = tasks.register<Sync>("nhkitBundle") {
    into(bundleAssets)
    if (nhkitBundle != null) {
        val src = file(nhkitBundle)
        doFirst { require(File(src, "manifest.json").isFile) { "$src has no manifest.json" } }
        from(src) { into("nhkit/${src.name}") }
    }
}
android.sourceSets.getByName("main").assets.srcDir(bundleAssets)
tasks.matching { it.name.startsWith("merge") && it.name.endsWith("Assets") }.configureEach {
    dependsOn(copyBundle)
}
