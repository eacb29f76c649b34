package dev.nhkit.core;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The long run of the Java readers' fuzzer (benchmarks/fuzz_bridges.sh):
 * {@code ReaderFuzzMain ITERATIONS SEED OUT.json [FINDINGS_DIR] [READER...]}. Writes one JSON
 * row per reader (executions, rejected, seconds, findings with their first input) and exits 0
 * even with findings (the script reports them).
 */
public final class ReaderFuzzMain {
    private ReaderFuzzMain() {}

    public static void main(String[] args) throws Exception {
        int iterations = Integer.parseInt(args[0]);
        long seed = Long.parseLong(args[1]);
        File out = new File(args[2]);
        File findings = args.length > 3 && !args[3].isEmpty() ? new File(args[3]) : null;
        List<String> only = new ArrayList<>();
        for (int i = 4; i < args.length; i++) {
            only.add(args[i]);
        }
        File scratch = Files.createTempDirectory("nhkit-fuzz-main").toFile();
        ReaderFuzzRunner runner = new ReaderFuzzRunner();
        List<Object> rows = new ArrayList<>();
        try {
            for (ReaderFuzzTargets.Target t : ReaderFuzzTargets.all(scratch)) {
                if (!only.isEmpty() && !only.contains(t.name)) {
                    continue;
                }
                ReaderFuzzRunner.Result r = runner.run(t, seed, iterations, findings);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("language", "java");
                row.put("reader", t.name);
                row.put("what", t.what);
                row.put("executions", (long) r.executions);
                row.put("rejected", (long) r.rejected);
                row.put("seconds", Math.round(r.seconds * 10) / 10.0);
                Map<String, Object> f = new LinkedHashMap<>();
                for (Map.Entry<String, String> e : r.findings.entrySet()) {
                    f.put(e.getKey(), r.counts.get(e.getKey()) + "x, first: " + e.getValue());
                }
                row.put("findings", f);
                rows.add(row);
                System.out.println("java " + t.name + ": " + r.executions + " executions, " + r.findings.size()
                        + " distinct findings (" + String.format("%.1f", r.seconds) + " s)");
            }
        } finally {
            runner.close();
            HashListVectorCases.deleteTree(scratch);
        }
        Files.write(out.toPath(), Json.writePretty(rows).getBytes(StandardCharsets.UTF_8));
    }
}
