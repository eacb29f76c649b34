package dev.nhkit.core;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The files of a hash-list zip ({@code LIST.zip}: one top folder {@code <list_id>/} holding the
 * list's files, no subfolders), read through {@link java.util.zip.ZipFile} (on every JVM and
 * Android). Unsafe or unexpected entry names are rejected before anything is read.
 */
final class ZipHashListFiles implements BundleFiles {
    private final File zipFile;
    private final ZipFile zip;
    private final String top;
    private final Map<String, ZipEntry> entries;

    private ZipHashListFiles(File zipFile, ZipFile zip, String top, Map<String, ZipEntry> entries) {
        this.zipFile = zipFile;
        this.zip = zip;
        this.top = top;
        this.entries = entries;
    }

    static ZipHashListFiles open(File file) throws HashListException {
        ZipFile zip;
        try {
            zip = new ZipFile(file);
        } catch (IOException | RuntimeException e) {
            throw new HashListException(file.getPath(), "zip", "not a readable zip file: "
                    + e.getMessage(), e);
        }
        try {
            String top = null;
            Map<String, ZipEntry> files = new HashMap<>();
            Enumeration<? extends ZipEntry> en = zip.entries();
            while (en.hasMoreElements()) {
                ZipEntry e = en.nextElement();
                String name = e.getName();
                int slash = name.indexOf('/');
                String first = slash < 0 ? name : name.substring(0, slash);
                if (slash <= 0 || !HashListChecks.isListId(first)) {
                    throw new HashListException(file.getPath(), "zip", "entry " + FloatHex.quote(name)
                            + " is not inside one top folder <list_id>/");
                }
                if (top == null) {
                    top = first;
                } else if (!top.equals(first)) {
                    throw new HashListException(file.getPath(), "zip", "has more than one top folder ("
                            + top + ", " + first + ")");
                }
                String rest = name.substring(slash + 1);
                if (e.isDirectory()) {
                    checkSegments(file, name, rest);
                    continue; // folders carry nothing; a file below one is reported as unlisted
                }
                if (rest.indexOf('/') >= 0 || rest.indexOf('\\') >= 0
                        || rest.indexOf('\0') >= 0 || rest.equals(".") || rest.equals("..")) {
                    throw new HashListException(file.getPath(), "zip", "entry " + FloatHex.quote(name)
                            + " is not a file directly in the top folder");
                }
                if (files.put(rest, e) != null) {
                    throw new HashListException(file.getPath(), "zip", "holds " + name + " twice");
                }
            }
            if (top == null) {
                throw new HashListException(file.getPath(), "zip", "is empty");
            }
            return new ZipHashListFiles(file, zip, top, files);
        } catch (HashListException | RuntimeException e) {
            try {
                zip.close();
            } catch (IOException ignored) {
                // the zip is rejected anyway
            }
            if (e instanceof HashListException) {
                throw (HashListException) e;
            }
            throw new HashListException(file.getPath(), "zip", "cannot read the zip: " + e, e);
        }
    }

    /** A directory entry's path below the top folder: no empty, {@code .} or {@code ..} segments. */
    private static void checkSegments(File file, String name, String rest) throws HashListException {
        String r = rest.endsWith("/") ? rest.substring(0, rest.length() - 1) : rest;
        if (r.isEmpty()) {
            return;
        }
        for (String seg : r.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..") || seg.indexOf('\\') >= 0) {
                throw new HashListException(file.getPath(), "zip", "entry " + FloatHex.quote(name)
                        + " has an unsafe path");
            }
        }
    }

    String topFolder() {
        return top;
    }

    void close() {
        try {
            zip.close();
        } catch (IOException ignored) {
            // nothing was written; the data is already in memory
        }
    }

    @Override
    public InputStream open(String relativePath) throws IOException {
        ZipEntry e = entries.get(relativePath);
        if (e == null) {
            throw new IOException("not in the zip");
        }
        return zip.getInputStream(e);
    }

    @Override
    public String describe(String relativePath) {
        return zipFile.getPath() + "!/" + top + "/" + relativePath;
    }

    @Override
    public List<String> listFiles() {
        return new ArrayList<>(entries.keySet());
    }
}
