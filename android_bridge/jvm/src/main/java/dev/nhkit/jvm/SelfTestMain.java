package dev.nhkit.jvm;

import dev.nhkit.core.Bundle;
import dev.nhkit.core.DirectoryBundleFiles;
import dev.nhkit.core.NhkitException;
import dev.nhkit.core.SelfTest;
import dev.nhkit.core.SelfTestReport;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The bundle self-test on a JVM with real inference: every case of a TFLite bundle through the
 * Java core's pipeline, {@link ImageIoDecoder} and {@link LiteRtFfmEngine}, written as a device
 * report (docs/device-report.md) for {@code nhkit golden check}.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp core:jvm dev.nhkit.jvm.SelfTestMain \
 *     --bundle DIR -o report.json [--threads N] [--litert /path/libLiteRt.so]
 * </pre>
 *
 * Exit status: 0 report written (its verdict is the golden check's job), 2 bad arguments or a
 * bundle/library problem (one line on stderr naming the file).
 */
public final class SelfTestMain {
    public static final String BRIDGE_NAME = "nhkit-jvm";
    public static final String BRIDGE_VERSION = "0.1.0";

    private SelfTestMain() {}

    public static void main(String[] args) {
        String bundleDir = null;
        String out = null;
        String litert = null;
        int threads = LiteRtFfmEngine.DEFAULT_THREADS;
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--bundle": bundleDir = args[++i]; break;
                    case "-o": case "--out": out = args[++i]; break;
                    case "--threads": threads = Integer.parseInt(args[++i]); break;
                    case "--litert": litert = args[++i]; break;
                    default: throw new IllegalArgumentException("unknown argument " + args[i]);
                }
            }
            if (bundleDir == null || out == null) {
                throw new IllegalArgumentException("--bundle DIR and -o REPORT.json are required");
            }
        } catch (RuntimeException e) {
            System.err.println("nhkit-jvm selftest: " + e.getMessage());
            System.err.println("usage: SelfTestMain --bundle DIR -o REPORT.json [--threads N] [--litert LIB]");
            System.exit(2);
            return;
        }
        try {
            LiteRtLibrary lib = litert != null ? LiteRtLibrary.load(Path.of(litert)) : LiteRtLibrary.load();
            SelfTestReport report = run(new File(bundleDir), lib, threads);
            writeAtomically(Path.of(out), report.toJsonBytes());
            long failed = report.cases().stream().filter(c -> c.error != null).count()
                    + report.decodeCases().stream().filter(d -> d.error != null).count();
            System.out.println("nhkit-jvm selftest: " + report.cases().size() + " cases + "
                    + report.decodeCases().size() + " decode cases, " + failed + " errors, litert "
                    + lib.version() + " -> " + out);
        } catch (NhkitException e) {
            System.err.println("nhkit-jvm selftest: " + e.getMessage());
            System.exit(2);
        } catch (IOException e) {
            System.err.println("nhkit-jvm selftest: " + out + ": cannot write: " + e.getMessage());
            System.exit(2);
        }
    }

    /** Opens and verifies the bundle, runs every case with real LiteRT inference. */
    public static SelfTestReport run(File bundleDir, LiteRtLibrary lib, int threads) throws NhkitException {
        if (!new File(bundleDir, "manifest.json").isFile()) {
            throw new NhkitException.BundleException(bundleDir.getPath(), "not a bundle folder (no manifest.json)");
        }
        Bundle bundle = Bundle.open(new DirectoryBundleFiles(bundleDir));
        try (LiteRtFfmEngine engine = LiteRtFfmEngine.open(bundle, lib, threads)) {
            SelfTestReport report = SelfTest.run(bundle, new ImageIoDecoder(), engine, BRIDGE_NAME,
                    BRIDGE_VERSION, platform());
            report.putExtra("note", "JVM run of the android_bridge core pipeline with javax.imageio "
                    + "decoding and real LiteRT inference (libLiteRt.so via java.lang.foreign)");
            return report;
        }
    }

    static Map<String, Object> platform() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("os", System.getProperty("os.name"));
        p.put("os_version", System.getProperty("os.version"));
        p.put("device_model", "jvm-" + System.getProperty("java.version"));
        p.put("abi", System.getProperty("os.arch"));
        p.put("cpus", (long) Runtime.getRuntime().availableProcessors());
        return p;
    }

    /** Temp file in the same folder, then an atomic rename: never a half-written report. */
    static void writeAtomically(Path target, byte[] data) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, ".nhkit-report-", ".tmp");
        try {
            Files.write(tmp, data);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
