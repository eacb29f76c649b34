plugins {
    alias(libs.plugins.android.library) apply false
}

allprojects {
    group = "dev.nhkit"
    version = "0.1.0"
}

// Maven metadata shared by nhkit-core, nhkit-android and nhkit-jvm. The project URL and SCM are
// given at publish time (-Pnhkit.url=https://... -Pnhkit.scm=scm:git:...): this repository does not
// know where it will be hosted.
subprojects {
    plugins.withId("maven-publish") {
        extensions.configure<PublishingExtension> {
            publications.withType<MavenPublication>().configureEach {
                pom {
                    name.set(artifactId)
                    description.set("nhkit: the nh-spec-v1 perceptual image hash (NeuralHash-style) " +
                        "computed bit-exactly up to the model input, with a verified model bundle.")
                    providers.gradleProperty("nhkit.url").orNull?.let { url.set(it) }
                    licenses {
                        license {
                            name.set("Apache-2.0")
                            url.set("https://www.apache.org/licenses/LICENSE-2.0.txt")
                        }
                    }
                    providers.gradleProperty("nhkit.scm").orNull?.let { scmUrl ->
                        scm { connection.set(scmUrl) }
                    }
                }
            }
        }
    }
}
