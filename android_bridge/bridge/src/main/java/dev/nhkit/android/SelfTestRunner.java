package dev.nhkit.android;

import android.content.Context;
import android.os.Build;

import dev.nhkit.core.NhkitException;
import dev.nhkit.core.SelfTest;
import dev.nhkit.core.SelfTestReport;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Runs a bundle's self-test cases on this device (BitmapFactory decoding, LiteRT inference) and
 * writes the device report (docs/device-report.md) for {@code nhkit golden check REPORT --bundle B}.
 */
public final class SelfTestRunner {
    public static final String BRIDGE_NAME = "nhkit-android";
    public static final String BRIDGE_VERSION = "0.1.0";

    private SelfTestRunner() {}

    /**
     * Runs every case; failures are recorded per case, never thrown.
     *
     * @throws NhkitException.BundleException when the bundle has no self-test cases
     */
    public static SelfTestReport run(NeuralHasher hasher) throws NhkitException.BundleException {
        return SelfTest.run(hasher.bundle(), hasher.decoder(), hasher.engine(), BRIDGE_NAME,
                BRIDGE_VERSION, platform());
    }

    /**
     * Opens the bundle at {@code assetDir}, runs the self-test and writes the report to
     * {@code out} (e.g. {@code new File(context.getExternalFilesDir(null), "nhkit-selftest.json")},
     * which {@code adb pull} can fetch). Returns the report.
     */
    public static SelfTestReport runAndWrite(Context context, String assetDir, File out)
            throws NhkitException, IOException {
        try (NeuralHasher hasher = NeuralHasher.fromAssets(context, assetDir)) {
            SelfTestReport report = run(hasher);
            write(report, out);
            return report;
        }
    }

    /**
     * {@code platform} of the report: os, os_version, device_model, plus the descriptive keys
     * docs/device-report.md suggests (manufacturer, sdk_int, abi).
     */
    public static Map<String, Object> platform() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("os", "Android");
        m.put("os_version", nonEmpty(Build.VERSION.RELEASE));
        m.put("device_model", nonEmpty(Build.MODEL));
        m.put("manufacturer", nonEmpty(Build.MANUFACTURER));
        m.put("sdk_int", (long) Build.VERSION.SDK_INT);
        m.put("abi", join(Build.SUPPORTED_ABIS));
        return m;
    }

    /** Comma-joined (String.join needs API 26). */
    private static String join(String[] items) {
        StringBuilder sb = new StringBuilder();
        if (items != null) {
            for (String s : items) {
                if (sb.length() > 0) {
                    sb.append(',');
                }
                sb.append(s);
            }
        }
        return sb.toString();
    }

    private static String nonEmpty(String s) {
        return s == null || s.isEmpty() ? "unknown" : s;
    }

    /** Writes atomically (temp file, then rename). */
    public static void write(SelfTestReport report, File out) throws IOException {
        File dir = out.getAbsoluteFile().getParentFile();
        if (dir != null && !dir.isDirectory() && !dir.mkdirs()) {
            throw new IOException("cannot create " + dir);
        }
        File tmp = new File(dir, out.getName() + ".tmp");
        try (OutputStream os = new FileOutputStream(tmp)) {
            os.write(report.toJsonBytes());
        }
        if (!tmp.renameTo(out)) {
            tmp.delete();
            throw new IOException("cannot rename " + tmp + " to " + out);
        }
    }
}
