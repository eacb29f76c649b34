package dev.nhkit.core;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a fuzz target over its regression inputs (tests/fuzz_regressions/bridges/&lt;reader&gt;/)
 * and {@code iterations} mutated inputs, each on a watchdog thread: an input that runs longer
 * than {@link #WATCHDOG_MS} is a hang finding (its thread is abandoned, a fresh one takes over);
 * any throwable other than the target's documented rejection, {@link StackOverflowError} and
 * {@link OutOfMemoryError} included, is a finding. Used by ReaderFuzzTest (short profile) and
 * ReaderFuzzMain (benchmarks/fuzz_bridges.sh, the long run).
 */
final class ReaderFuzzRunner {
    static final long WATCHDOG_MS = 10_000;

    static final class Result {
        final String reader;
        int executions;
        int rejected;
        double seconds;
        /** Finding key (throwable type + top frame) -> first input's description. */
        final Map<String, String> findings = new LinkedHashMap<>();
        final Map<String, Integer> counts = new LinkedHashMap<>();
        final List<byte[]> findingInputs = new ArrayList<>();

        Result(String reader) {
            this.reader = reader;
        }

        int findingCount() {
            int n = 0;
            for (int c : counts.values()) {
                n += c;
            }
            return n;
        }
    }

    private ExecutorService pool = newPool();

    private static ExecutorService newPool() {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "nhkit-fuzz");
            t.setDaemon(true);
            return t;
        });
    }

    void close() {
        pool.shutdownNow();
    }

    Result run(ReaderFuzzTargets.Target t, long seed, int iterations, File findingsDir) throws IOException {
        Result r = new Result(t.name);
        long t0 = System.nanoTime();
        File regressions = new File(TestSupport.repoRoot(), "tests/fuzz_regressions/bridges/" + t.name);
        String[] names = regressions.list();
        if (names != null) {
            Arrays.sort(names);
            for (String n : names) {
                one(t, r, "regression " + n, Files.readAllBytes(new File(regressions, n).toPath()), findingsDir);
            }
        }
        for (int i = 0; i < iterations; i++) {
            FuzzMutator.Rng rng = FuzzMutator.Rng.forInput(seed, t.name, i);
            one(t, r, "input #" + i + " of seed " + seed, FuzzMutator.input(t.seeds, rng, t.maxLength), findingsDir);
        }
        r.seconds = (System.nanoTime() - t0) / 1e9;
        return r;
    }

    private void one(ReaderFuzzTargets.Target t, Result r, String label, byte[] input, File findingsDir)
            throws IOException {
        r.executions++;
        Future<?> f = pool.submit(() -> {
            t.run.run(input);
            return null;
        });
        Throwable bad = null;
        String key = null;
        try {
            f.get(WATCHDOG_MS, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            pool.shutdownNow();
            pool = newPool();
            key = "hang (over " + WATCHDOG_MS + " ms)";
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (t.expected.test(c)) {
                r.rejected++;
            } else {
                bad = c;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (bad != null) {
            StackTraceElement[] st = bad.getStackTrace();
            key = bad.getClass().getName() + (st.length > 0 ? " at " + st[0] : "");
        }
        if (key == null) {
            return;
        }
        if (!r.counts.containsKey(key)) {
            StringBuilder hex = new StringBuilder();
            for (int i = 0; i < Math.min(48, input.length); i++) {
                hex.append(String.format("%02x", input[i] & 0xFF));
            }
            r.findings.put(key, label + " (" + input.length + " bytes, starts " + hex + "): "
                    + (bad == null ? "no result" : String.valueOf(bad.getMessage())));
            r.findingInputs.add(input);
            if (findingsDir != null) {
                Files.createDirectories(findingsDir.toPath());
                Files.write(new File(findingsDir, t.name + "-" + label.replaceAll("[^A-Za-z0-9]", "") + ".bin").toPath(),
                        input);
            }
        }
        r.counts.merge(key, 1, Integer::sum);
    }
}
