plugins {
    alias(libs.plugins.android.library) apply false
}

allprojects {
    group = "dev.nhkit"
    version = "0.1.0"
}
