// Android library: LiteRT engine, BitmapFactory decoder, NeuralHasher, SelfTestRunner.
plugins {
    alias(libs.plugins.android.library)
    `maven-publish`
}

android {
    namespace = "dev.nhkit.android"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        testInstrumentationRunner = "androidx.test.runner.AndroidJUnitRunner"
        // Reports written with androidx.test.services TestStorage are pulled by
        // connectedAndroidTest into build/outputs/connected_android_test_additional_output/.
        testInstrumentationRunnerArguments["useTestStorageService"] = "true"
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_11
        targetCompatibility = JavaVersion.VERSION_11
    }

    // Models are memory-mapped straight out of the APK: they must be stored, not deflated.
    // Apps that ship a bundle in their own assets need the same line in their module.
    androidResources {
        noCompress += listOf("tflite")
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

dependencies {
    api(project(":core"))
    implementation(libs.litert)
    implementation(libs.androidx.exifinterface)

    androidTestImplementation(libs.junit)
    androidTestImplementation(libs.androidx.test.runner)
    androidTestImplementation(libs.androidx.test.ext.junit)
    androidTestImplementation(libs.androidx.test.services.storage)
    androidTestUtil(libs.androidx.test.services)
}

// The instrumented self-test runs every bundle under the test APK's assets/nhkit/. Pass one with
//   ./gradlew :bridge:connectedAndroidTest -Pnhkit.bundle=/path/to/<bundle_id>
val nhkitBundle: String? = providers.gradleProperty("nhkit.bundle").orNull
val nhkitTestAssets = layout.buildDirectory.dir("generated/nhkit-test-assets")
val nhkitTestBundle = tasks.register<Sync>("nhkitTestBundle") {
    description = "Copies the bundle folder given with -Pnhkit.bundle=DIR to androidTest assets nhkit/<bundle_id>/."
    into(nhkitTestAssets)
    if (nhkitBundle != null) {
        val src = file(nhkitBundle)
        doFirst {
            require(File(src, "manifest.json").isFile) {
                "-Pnhkit.bundle=$src is not an nhkit bundle folder (no manifest.json)"
            }
        }
        from(src) { into("nhkit/${src.name}") }
    }
}
android.sourceSets.getByName("androidTest").assets.srcDir(nhkitTestAssets)
tasks.matching { it.name.startsWith("merge") && it.name.endsWith("AndroidTestAssets") }.configureEach {
    dependsOn(nhkitTestBundle)
}

publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "nhkit-android"
            afterEvaluate { from(components["release"]) }
        }
    }
}
