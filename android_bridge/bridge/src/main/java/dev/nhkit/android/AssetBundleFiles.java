package dev.nhkit.android;

import android.content.res.AssetManager;

import dev.nhkit.core.BundleFiles;

import java.io.IOException;
import java.io.InputStream;

/** A bundle folder shipped in the APK's assets, e.g. {@code assets/nhkit/<bundle_id>/}. */
public final class AssetBundleFiles implements BundleFiles {
    private final AssetManager assets;
    private final String dir;

    /** @param dir the bundle folder inside assets, e.g. {@code "nhkit/nhkit-mnv3s-v1.tflite-fp16"} */
    public AssetBundleFiles(AssetManager assets, String dir) {
        this.assets = assets;
        this.dir = trimSlashes(dir);
    }

    static String trimSlashes(String s) {
        int a = 0;
        int b = s.length();
        while (a < b && s.charAt(a) == '/') {
            a++;
        }
        while (b > a && s.charAt(b - 1) == '/') {
            b--;
        }
        return s.substring(a, b);
    }

    /** The asset path of a bundle file (checked to stay inside the bundle). */
    public String assetPath(String relativePath) {
        BundleFiles.checkRelativePath(relativePath);
        return dir.isEmpty() ? relativePath : dir + "/" + relativePath;
    }

    public AssetManager assets() {
        return assets;
    }

    @Override
    public InputStream open(String relativePath) throws IOException {
        return assets.open(assetPath(relativePath));
    }

    @Override
    public String describe(String relativePath) {
        return "assets/" + assetPath(relativePath);
    }
}
