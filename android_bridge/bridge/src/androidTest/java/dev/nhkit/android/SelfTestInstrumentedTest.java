package dev.nhkit.android;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import android.content.Context;
import android.os.Bundle;

import androidx.test.ext.junit.runners.AndroidJUnit4;
import androidx.test.platform.app.InstrumentationRegistry;
import androidx.test.services.storage.TestStorage;

import dev.nhkit.core.NhkitException;
import dev.nhkit.core.SelfTestReport;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;

import org.junit.Test;
import org.junit.runner.RunWith;

/**
 * Runs the self-test of every bundle under the test APK's {@code assets/nhkit/} on the device and
 * stores each report twice: in the test APK's external files dir (for {@code adb pull}) and, when
 * the androidx test storage service is installed, as a test output file (collected by
 * {@code ./gradlew connectedAndroidTest} into
 * {@code bridge/build/outputs/connected_android_test_additional_output/}). Then fails on any case
 * error, any lossless stage digest that differs from the reference, or a hash outside the
 * manifest's tolerance. The authoritative judgement is {@code nhkit golden check REPORT --bundle B}.
 *
 * <p>The bundle gets into the test APK with {@code -Pnhkit.bundle=/path/to/<bundle_id>} (see
 * bridge/build.gradle.kts). Instrumentation argument {@code -e nhkitBundle <bundle_id>} restricts
 * the run to one bundle.
 */
@RunWith(AndroidJUnit4.class)
public class SelfTestInstrumentedTest {
    static final String ASSET_ROOT = "nhkit";

    @Test
    public void selfTestOfEveryBundledBundle() throws Exception {
        Context context = InstrumentationRegistry.getInstrumentation().getContext();
        List<String> bundles = bundleIds(context);
        assertTrue("no bundle in the test APK's assets/" + ASSET_ROOT + "/: build with "
                + "./gradlew :bridge:connectedAndroidTest -Pnhkit.bundle=/path/to/<bundle_id>",
                !bundles.isEmpty());
        List<String> problems = new ArrayList<>();
        for (String id : bundles) {
            NeuralHasher hasher;
            try {
                hasher = NeuralHasher.fromAssets(context, ASSET_ROOT + "/" + id);
            } catch (NhkitException e) {
                problems.add(id + ": cannot load the bundle: " + e.getMessage());
                continue;
            }
            try {
                SelfTestReport report = SelfTestRunner.run(hasher);
                String fileName = "nhkit-selftest-" + id + ".json";
                File local = new File(outputDir(context), fileName);
                SelfTestRunner.write(report, local);
                String stored = storeWithTestStorage(fileName, report);
                System.out.println("nhkit self-test report: " + local.getAbsolutePath()
                        + (stored == null ? "" : " and test storage " + stored));
                assertEquals(hasher.bundle().selfTestCases().size(), report.cases().size());
                for (String p : SelfTestReport.problems(hasher.bundle(), report)) {
                    problems.add(id + ": " + p);
                }
            } finally {
                hasher.close();
            }
        }
        if (!problems.isEmpty()) {
            fail(problems.size() + " self-test problems (reports written; check them with "
                    + "`nhkit golden check REPORT --bundle B`):\n  " + joinLines(problems));
        }
    }

    private static List<String> bundleIds(Context context) throws IOException {
        List<String> out = new ArrayList<>();
        Bundle args = InstrumentationRegistry.getArguments();
        String only = args == null ? null : args.getString("nhkitBundle");
        if (only != null && !only.isEmpty()) {
            out.add(only);
            return out;
        }
        String[] names = context.getAssets().list(ASSET_ROOT);
        if (names != null) {
            for (String n : names) {
                out.add(n);
            }
        }
        return out;
    }

    /** /sdcard/Android/data/<test package>/files (adb-pullable), else the internal files dir. */
    private static File outputDir(Context context) {
        File ext = context.getExternalFilesDir(null);
        return ext != null ? ext : context.getFilesDir();
    }

    /** Returns the name written, or null when the test storage service is not available. */
    private static String storeWithTestStorage(String fileName, SelfTestReport report) {
        try (OutputStream os = new TestStorage().openOutputFile(fileName)) {
            os.write(report.toJsonBytes());
            return fileName;
        } catch (IOException | RuntimeException e) {
            System.out.println("test storage service not available (" + e + "); use adb pull");
            return null;
        }
    }

    private static String joinLines(List<String> items) {
        StringBuilder sb = new StringBuilder();
        for (String s : items) {
            if (sb.length() > 0) {
                sb.append("\n  ");
            }
            sb.append(s);
        }
        return sb.toString();
    }
}
