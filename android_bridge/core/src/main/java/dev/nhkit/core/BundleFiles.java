package dev.nhkit.core;

import java.io.IOException;
import java.io.InputStream;

/**
 * Read access to the files of one bundle folder, by the manifest's relative paths ({@code /}
 * separated). Implemented over a directory ({@link DirectoryBundleFiles}) and, in the Android
 * bridge, over APK assets.
 */
public interface BundleFiles {
    /** Opens a file of the bundle; the caller closes the stream. */
    InputStream open(String relativePath) throws IOException;

    /** How to name a file in messages (e.g. the absolute path, or {@code assets/...}). */
    String describe(String relativePath);

    /**
     * Every file of the bundle folder (recursively), as relative {@code /}-separated paths, so a
     * reader can reject files the manifest does not list. Order does not matter.
     */
    java.util.List<String> listFiles() throws IOException;

    /**
     * Checks that a manifest path stays inside the bundle: relative, {@code /}-separated, no empty,
     * {@code .} or {@code ..} segments, no backslashes or NUL.
     *
     * @throws IllegalArgumentException otherwise
     */
    static String checkRelativePath(String path) {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.indexOf('\\') >= 0
                || path.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("not a relative bundle path: " + FloatHex.quote(path));
        }
        for (String seg : path.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw new IllegalArgumentException("not a relative bundle path: "
                        + FloatHex.quote(path));
            }
        }
        return path;
    }
}
