// JVM (server/desktop) module: LiteRtFfmEngine, spec step 5 through LiteRT's CompiledModel C API
// (libLiteRt.so from the ai-edge-litert 2.3.0 wheel) with java.lang.foreign; needs a JDK 22+.
// Not part of the Android library (Android has no java.lang.foreign). android_bridge/test.sh
// builds and tests it with bare javac (jvm/test.sh); this file is the Gradle equivalent.
plugins {
    `java-library`
    `maven-publish`
}

java {
    toolchain {
        languageVersion.set(JavaLanguageVersion.of(22))
    }
    withSourcesJar()
}

tasks.withType<JavaCompile>().configureEach {
    options.release.set(22)
    options.encoding = "UTF-8"
    // "restricted" warns about every FFM call that is the point of this module.
    options.compilerArgs.addAll(listOf("-Xlint:all,-restricted", "-Werror"))
}

dependencies {
    api(project(":core"))
    testImplementation(libs.junit)
}

tasks.test {
    jvmArgs("--enable-native-access=ALL-UNNAMED")
    maxHeapSize = "1g"
    // Exported TFLite bundles for LiteRtFfmEngineTest (skipped without): a folder of bundle folders.
    providers.environmentVariable("NHKIT_LITERT_BUNDLES").orNull?.let { systemProperty("nhkit.litert.bundles", it) }
}

// ./gradlew :jvm:selfTest -Pbundle=/abs/out/<bundle_id> -Pout=/abs/report.json
tasks.register<JavaExec>("selfTest") {
    description = "Runs a TFLite bundle's self-test with real LiteRT inference and writes a device report."
    classpath = sourceSets["main"].runtimeClasspath
    mainClass.set("dev.nhkit.jvm.SelfTestMain")
    jvmArgs("--enable-native-access=ALL-UNNAMED")
    javaLauncher.set(javaToolchains.launcherFor { languageVersion.set(JavaLanguageVersion.of(22)) })
    args(listOf("--bundle", providers.gradleProperty("bundle").getOrElse(""),
            "-o", providers.gradleProperty("out").getOrElse("nhkit-selftest.json")))
}

publishing {
    publications {
        create<MavenPublication>("maven") {
            artifactId = "nhkit-jvm"
            from(components["java"])
        }
    }
}
