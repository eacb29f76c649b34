package dev.nhkit.jvm.bench;

import dev.nhkit.core.BicubicResize;
import dev.nhkit.core.Bundle;
import dev.nhkit.core.DecodedImage;
import dev.nhkit.core.DirectoryBundleFiles;
import dev.nhkit.core.FloatHex;
import dev.nhkit.core.HashPipeline;
import dev.nhkit.core.HashResult;
import dev.nhkit.core.Json;
import dev.nhkit.core.RgbImage;
import dev.nhkit.jvm.ImageIoDecoder;
import dev.nhkit.jvm.LiteRtFfmEngine;
import dev.nhkit.jvm.LiteRtLibrary;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Benchmark (not a test), driven by benchmarks/android_jvm.py, which feeds the Python reference
 * the same inputs and compares the outputs byte for byte. Prints one JSON object on stdout.
 *
 * <pre>
 * resize   --input RAW --size WxH --threads N --warmup W --runs R
 * pipeline --bundle DIR --threads N --passes P IMAGE...
 * </pre>
 * resize: the spec resize of a raw RGB8 buffer to 360x360 (N resize threads): wall times and the
 * output's sha256. pipeline: each image through javax.imageio decode + the core's steps 2-4 +
 * LiteRT (N threads) + projection; one warm-up pass, then P timed passes; per image the stage
 * digests, embedding (hex bit patterns), hash and the median per-stage wall times.
 */
public final class JvmBench {
    private JvmBench() {}

    public static void main(String[] args) throws Exception {
        Map<String, Object> out = args[0].equals("resize") ? resize(args) : pipeline(args);
        System.out.println(Json.writeCompact(out));
    }

    private static String arg(String[] args, String name, String dflt) {
        for (int i = 1; i < args.length - 1; i++) {
            if (args[i].equals(name)) {
                return args[i + 1];
            }
        }
        if (dflt == null) {
            throw new IllegalArgumentException("missing " + name);
        }
        return dflt;
    }

    private static Map<String, Object> resize(String[] args) throws Exception {
        String[] wh = arg(args, "--size", null).split("x");
        int w = Integer.parseInt(wh[0]);
        int h = Integer.parseInt(wh[1]);
        int threads = Integer.parseInt(arg(args, "--threads", "1"));
        int warmup = Integer.parseInt(arg(args, "--warmup", "5"));
        int runs = Integer.parseInt(arg(args, "--runs", "15"));
        RgbImage img = new RgbImage(w, h, Files.readAllBytes(Path.of(arg(args, "--input", null))));
        RgbImage r = null;
        for (int i = 0; i < warmup; i++) {
            r = BicubicResize.resizeTo360(img, threads);
        }
        List<Object> ms = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            long t0 = System.nanoTime();
            r = BicubicResize.resizeTo360(img, threads);
            ms.add((System.nanoTime() - t0) / 1e6);
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("threads", (long) threads);
        o.put("ms", ms);
        o.put("sha256", r.sha256Hex());
        o.put("jvm", System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        return o;
    }

    private static Map<String, Object> pipeline(String[] args) throws Exception {
        int threads = Integer.parseInt(arg(args, "--threads", "1"));
        int passes = Integer.parseInt(arg(args, "--passes", "3"));
        Bundle bundle = Bundle.open(new DirectoryBundleFiles(Path.of(arg(args, "--bundle", null)).toFile()));
        List<String> images = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].startsWith("--")) {
                i++;
            } else {
                images.add(args[i]);
            }
        }
        ImageIoDecoder decoder = new ImageIoDecoder();
        List<Object> results = new ArrayList<>();
        try (LiteRtFfmEngine engine = LiteRtFfmEngine.open(bundle, LiteRtLibrary.load(), threads)) {
            HashPipeline pipe = new HashPipeline(bundle.seed(), bundle.spec(), engine, threads);
            for (String path : images) {
                byte[] bytes = Files.readAllBytes(Path.of(path));
                double[][] t = new double[passes][];
                HashResult r = null;
                HashPipeline.Prepared p = null;
                for (int pass = -1; pass < passes; pass++) { // pass -1: warm-up, not timed
                    long t0 = System.nanoTime();
                    DecodedImage d = decoder.decode(bytes, path);
                    long t1 = System.nanoTime();
                    p = pipe.prepare(d, false);
                    long t2 = System.nanoTime();
                    r = pipe.hash(p);
                    long t3 = System.nanoTime();
                    if (pass >= 0) {
                        t[pass] = new double[] {(t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6, (t3 - t0) / 1e6};
                    }
                }
                HashPipeline.Prepared digests = pipe.prepare(decoder.decode(bytes, path), true);
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("image", path);
                o.put("decoded", digests.digests.decoded);
                o.put("resized", digests.digests.resized);
                o.put("tensor", digests.digests.tensor);
                o.put("embedding", Arrays.asList((Object[]) FloatHex.f32ToHex(r.embedding)));
                o.put("hash", r.hash.toHex());
                String[] stages = {"decode", "prepare", "model_project", "total"};
                Map<String, Object> med = new LinkedHashMap<>();
                for (int s = 0; s < stages.length; s++) {
                    double[] v = new double[passes];
                    for (int k = 0; k < passes; k++) {
                        v[k] = t[k][s];
                    }
                    Arrays.sort(v);
                    med.put(stages[s], v[passes / 2]);
                }
                o.put("median_ms", med);
                results.add(o);
            }
        }
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("bundle", bundle.bundleId());
        o.put("threads", (long) threads);
        o.put("results", results);
        return o;
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
