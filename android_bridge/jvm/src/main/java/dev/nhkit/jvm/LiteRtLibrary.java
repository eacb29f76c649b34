package dev.nhkit.jvm;

import dev.nhkit.core.NhkitException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Finds and loads {@code libLiteRt.so}, the LiteRT CompiledModel C library that the
 * {@code ai-edge-litert} Python wheel ships (self-contained: needs only libc and libstdc++).
 *
 * <p>Where it looks, first match wins: an explicit path ({@link #load(Path)}); the system property
 * {@value #PROPERTY} or the environment variable {@value #ENV} (a file, or a folder holding it);
 * the installed {@code ai_edge_litert} package, whose folder the Python interpreter
 * {@value #PYTHON_PROPERTY} / {@value #PYTHON_ENV} (default {@code python3}) reports.
 *
 * <p>Why a version pin: the C API's signatures changed between LiteRT releases, and a call
 * through a wrong signature corrupts memory instead of failing. {@link LiteRtCApi} declares the
 * functions exactly as LiteRT {@value #PINNED_VERSION} has them, so loading refuses any other
 * version: the version is read from the wheel's {@code ai_edge_litert-X.dist-info/METADATA} next
 * to the library, or, for a library outside a wheel, must be stated with {@value #VERSION_PROPERTY}
 * / {@value #VERSION_ENV}. Every declared symbol must also be exported.
 */
public final class LiteRtLibrary {
    /** The LiteRT release whose C API {@link LiteRtCApi} declares. */
    public static final String PINNED_VERSION = "2.3.0";
    public static final String PROPERTY = "nhkit.litert.lib";
    public static final String ENV = "NHKIT_LITERT_LIB";
    public static final String VERSION_PROPERTY = "nhkit.litert.version";
    public static final String VERSION_ENV = "NHKIT_LITERT_VERSION";
    public static final String PYTHON_PROPERTY = "nhkit.python";
    public static final String PYTHON_ENV = "NHKIT_PYTHON";
    static final String FILE_NAME = "libLiteRt.so";

    private final Path path;
    private final String version;
    private final LiteRtCApi api;

    private LiteRtLibrary(Path path, String version, LiteRtCApi api) {
        this.path = path;
        this.version = version;
        this.api = api;
    }

    /** The library file that was loaded. */
    public Path path() {
        return path;
    }

    /** The LiteRT release it belongs to (always {@link #PINNED_VERSION}). */
    public String version() {
        return version;
    }

    LiteRtCApi api() {
        return api;
    }

    private static LiteRtLibrary cached;

    /** Locates the library as the class comment says (loaded once per JVM). */
    public static synchronized LiteRtLibrary load() throws LiteRtUnavailableException {
        if (cached == null) {
            cached = load(locate());
        }
        return cached;
    }

    /** Loads the library at {@code file} (its version is checked, see the class comment). */
    public static LiteRtLibrary load(Path file) throws LiteRtUnavailableException {
        Path f = file.toAbsolutePath().normalize();
        if (Files.isDirectory(f)) {
            f = f.resolve(FILE_NAME);
        }
        if (!Files.isRegularFile(f)) {
            throw new LiteRtUnavailableException(f + ": no such file (LiteRT's C library "
                    + FILE_NAME + ", shipped in the ai-edge-litert " + PINNED_VERSION + " wheel)");
        }
        String version = versionOf(f);
        if (!PINNED_VERSION.equals(version)) {
            throw new LiteRtUnavailableException(f + " is LiteRT " + version + "; nhkit's FFM "
                    + "declarations are pinned to the C API of LiteRT " + PINNED_VERSION
                    + " (pip install ai-edge-litert==" + PINNED_VERSION + ")");
        }
        SymbolLookup lookup;
        try {
            // The global arena: the library stays loaded for the JVM's lifetime, as engines may
            // be opened and closed many times.
            lookup = SymbolLookup.libraryLookup(f, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new LiteRtUnavailableException(f + ": cannot be loaded: " + e.getMessage());
        }
        LiteRtCApi api = LiteRtCApi.bind(lookup, f);
        return new LiteRtLibrary(f, version, api);
    }

    /** Where {@link #load()} would load from, without loading it. */
    public static Path locate() throws LiteRtUnavailableException {
        List<String> tried = new ArrayList<>();
        String explicit = System.getProperty(PROPERTY);
        String from = "-D" + PROPERTY;
        if (explicit == null || explicit.isEmpty()) {
            explicit = System.getenv(ENV);
            from = ENV;
        }
        if (explicit != null && !explicit.isEmpty()) {
            Path p = Path.of(explicit);
            Path f = Files.isDirectory(p) ? p.resolve(FILE_NAME) : p;
            if (!Files.isRegularFile(f)) {
                throw new LiteRtUnavailableException(from + "=" + explicit + ": no " + FILE_NAME
                        + " there");
            }
            return f;
        }
        tried.add("-D" + PROPERTY + " / " + ENV + " (not set)");
        String python = System.getProperty(PYTHON_PROPERTY);
        if (python == null || python.isEmpty()) {
            python = System.getenv(PYTHON_ENV);
        }
        if (python == null || python.isEmpty()) {
            python = "python3";
        }
        String dir = askPython(python, tried);
        if (dir != null) {
            Path f = Path.of(dir).resolve(FILE_NAME);
            if (Files.isRegularFile(f)) {
                return f;
            }
            tried.add(f + " (ai_edge_litert is installed but has no " + FILE_NAME + ")");
        }
        throw new LiteRtUnavailableException("LiteRT's C library " + FILE_NAME + " was not found. "
                + "Install the wheel (pip install ai-edge-litert==" + PINNED_VERSION + ") or point "
                + "-D" + PROPERTY + " / " + ENV + " at the file. Tried: " + String.join("; ", tried));
    }

    private static String askPython(String python, List<String> tried) {
        ProcessBuilder pb = new ProcessBuilder(python, "-c",
                "import os, ai_edge_litert; print(os.path.dirname(ai_edge_litert.__file__))");
        pb.redirectErrorStream(true);
        try {
            Process p = pb.start();
            byte[] out;
            try (InputStream in = p.getInputStream()) {
                out = in.readAllBytes();
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                tried.add(python + " (did not answer within 60 s)");
                return null;
            }
            String text = new String(out, StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0) {
                String last = text.contains("\n") ? text.substring(text.lastIndexOf('\n') + 1) : text;
                tried.add(python + " -c 'import ai_edge_litert' (" + last + ")");
                return null;
            }
            return text;
        } catch (IOException e) {
            tried.add(python + " (" + e.getMessage() + ")");
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            tried.add(python + " (interrupted)");
            return null;
        }
    }

    /**
     * The wheel's version from {@code ai_edge_litert-*.dist-info/METADATA} beside the package
     * folder; else {@value #VERSION_PROPERTY} / {@value #VERSION_ENV}.
     */
    static String versionOf(Path lib) throws LiteRtUnavailableException {
        Path pkg = lib.getParent();
        Path site = pkg == null ? null : pkg.getParent();
        if (site != null && pkg.getFileName().toString().equals("ai_edge_litert")) {
            try (var dirs = Files.newDirectoryStream(site, "ai_edge_litert-*.dist-info")) {
                for (Path d : dirs) {
                    Path meta = d.resolve("METADATA");
                    if (!Files.isRegularFile(meta)) {
                        continue;
                    }
                    for (String line : Files.readAllLines(meta, StandardCharsets.UTF_8)) {
                        if (line.startsWith("Version:")) {
                            return line.substring("Version:".length()).trim();
                        }
                        if (line.isEmpty()) {
                            break; // end of the metadata headers
                        }
                    }
                }
            } catch (IOException e) {
                throw new LiteRtUnavailableException(site + ": cannot read the ai_edge_litert "
                        + "wheel metadata: " + e.getMessage());
            }
        }
        String v = System.getProperty(VERSION_PROPERTY);
        if (v == null || v.isEmpty()) {
            v = System.getenv(VERSION_ENV);
        }
        if (v == null || v.isEmpty()) {
            throw new LiteRtUnavailableException(lib + ": cannot tell which LiteRT release this is "
                    + "(no ai_edge_litert-*.dist-info beside it); state it with -D"
                    + VERSION_PROPERTY + "=X or " + VERSION_ENV + "=X (only " + PINNED_VERSION
                    + " is accepted)");
        }
        return v;
    }

    /** LiteRT cannot be used here: missing, another version, or not loadable. */
    public static final class LiteRtUnavailableException extends NhkitException {
        private static final long serialVersionUID = 1L;

        public LiteRtUnavailableException(String message) {
            super(null, message);
        }
    }
}
