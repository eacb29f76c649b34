package dev.nhkit.sample;

import android.app.Activity;
import android.os.Bundle;
import android.util.Log;
import android.widget.ScrollView;
import android.widget.TextView;

import dev.nhkit.android.SelfTestRunner;
import dev.nhkit.core.SelfTestReport;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Runs the self-test of every bundle under assets/nhkit/ off the main thread, shows each device
 * report and writes it to getExternalFilesDir(null)/nhkit-selftest[-<bundle_id>].json.
 * Sample only: not built on the nhkit development machine (no Android SDK there).
 */
public final class MainActivity extends Activity {
    private static final String TAG = "nhkit-sample";
    private final ExecutorService worker = Executors.newSingleThreadExecutor();

    @Override
    protected void onCreate(Bundle state) {
        super.onCreate(state);
        final TextView text = new TextView(this);
        text.setTextIsSelectable(true);
        ScrollView scroll = new ScrollView(this);
        scroll.addView(text);
        setContentView(scroll);
        text.setText("running the nhkit self-test...");
        worker.execute(() -> {
            String shown = run();
            runOnUiThread(() -> text.setText(shown));
        });
    }

    private String run() {
        StringBuilder sb = new StringBuilder();
        try {
            String[] bundles = getAssets().list("nhkit");
            if (bundles == null || bundles.length == 0) {
                return "no bundle in assets/nhkit/ (build with -Pnhkit.bundle=/abs/path/<bundle_id>)";
            }
            for (String id : bundles) {
                File out = new File(getExternalFilesDir(null),
                        bundles.length == 1 ? "nhkit-selftest.json" : "nhkit-selftest-" + id + ".json");
                SelfTestReport report = SelfTestRunner.runAndWrite(this, "nhkit/" + id, out);
                String json = new String(report.toJsonBytes(), StandardCharsets.UTF_8);
                Log.i(TAG, "self-test of " + id + " written to " + out);
                sb.append(id).append(" -> ").append(out).append("\n").append(json).append("\n\n");
            }
        } catch (IOException | RuntimeException | dev.nhkit.core.NhkitException e) {
            Log.e(TAG, "self-test failed", e);
            sb.append("self-test failed: ").append(e.getMessage());
        }
        return sb.toString();
    }

    @Override
    protected void onDestroy() {
        worker.shutdownNow();
        super.onDestroy();
    }
}
