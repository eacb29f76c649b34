package dev.nhkit.android;

import android.content.res.AssetManager;

import dev.nhkit.core.BundleFiles;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/** A bundle folder shipped in the APK's assets, e.g. {@code assets/nhkit/<bundle_id>/}. */
public final class AssetBundleFiles implements BundleFiles {
    private final AssetManager assets;
    private final String dir;

    /** @param dir the bundle folder inside assets, e.g. {@code "nhkit/nhkit-mnv3s-v3.tflite-fp16"} */
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

    @Override
    public List<String> listFiles() throws IOException {
        List<String> out = new ArrayList<>();
        walk(dir, "", out);
        return out;
    }

    /** AssetManager.list gives a folder's children and nothing for a file. */
    private void walk(String assetDir, String prefix, List<String> out) throws IOException {
        String[] names = assets.list(assetDir);
        if (names == null) {
            return;
        }
        for (String n : names) {
            String child = assetDir.isEmpty() ? n : assetDir + "/" + n;
            String[] sub = assets.list(child);
            if (sub != null && sub.length > 0) {
                walk(child, prefix + n + "/", out);
            } else {
                out.add(prefix + n);
            }
        }
    }
}
