package dev.nhkit.core;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/** A bundle unpacked into a directory (e.g. the app's files dir, or a test fixture). */
public final class DirectoryBundleFiles implements BundleFiles {
    private final File root;

    public DirectoryBundleFiles(File root) {
        this.root = root;
    }

    public File root() {
        return root;
    }

    /** The file behind a manifest path (checked to stay inside the bundle). */
    public File file(String relativePath) {
        BundleFiles.checkRelativePath(relativePath);
        return new File(root, relativePath.replace('/', File.separatorChar));
    }

    @Override
    public InputStream open(String relativePath) throws IOException {
        return new FileInputStream(file(relativePath));
    }

    @Override
    public String describe(String relativePath) {
        return file(relativePath).getPath();
    }

    @Override
    public List<String> listFiles() throws IOException {
        List<String> out = new ArrayList<>();
        walk(root, "", out);
        return out;
    }

    private static void walk(File dir, String prefix, List<String> out) throws IOException {
        String[] names = dir.list();
        if (names == null) {
            throw new IOException("cannot list " + dir);
        }
        for (String n : names) {
            File f = new File(dir, n);
            if (f.isDirectory()) {
                walk(f, prefix + n + "/", out);
            } else {
                out.add(prefix + n);
            }
        }
    }
}
