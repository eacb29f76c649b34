// Plain Java library: nh-spec-v1 up to the model input, bundle/report JSON, HashPipeline.
// Java 11, no android.* and no dependencies (android_bridge/test.sh builds it with bare javac too).
plugins {
    `java-library`
    `maven-publish`
}

java {
    sourceCompatibility = JavaVersion.VERSION_11
    targetCompatibility = JavaVersion.VERSION_11
    withSourcesJar()
}

tasks.withType<JavaCompile>().configureEach {
    options.release.set(11)
    options.encoding = "UTF-8"
    options.compilerArgs.addAll(listOf("-Xlint:all", "-Werror"))
}

sourceSets {
    create("bench") {
        java.srcDir("src/bench/java")
        compileClasspath += sourceSets["main"].output
        runtimeClasspath += sourceSets["main"].output
    }
}

dependencies {
    testImplementation(libs.junit)
}

// The shared conformance vectors and (optionally) a bundle: see FixtureBundleTest.
val repoRoot = rootDir.parentFile
tasks.test {
    systemProperty("nhkit.repo.root", repoRoot.absolutePath)
    providers.environmentVariable("NHKIT_TEST_BUNDLE").orNull?.let { systemProperty("nhkit.bundle.dir", it) }
    maxHeapSize = "1g"
}

tasks.register<JavaExec>("resizeBench") {
    description = "Resize benchmark (4032x3024 -> 360x360); writes benchmarks/results/android_resize.md"
    classpath = sourceSets["bench"].runtimeClasspath
    mainClass.set("dev.nhkit.core.bench.ResizeBench")
    maxHeapSize = "1g"
    args("--out", File(repoRoot, "benchmarks/results/android_resize.md").path)
}

publishing {
    publications {
        create<MavenPublication>("maven") {
            artifactId = "nhkit-core"
            from(components["java"])
        }
    }
}
