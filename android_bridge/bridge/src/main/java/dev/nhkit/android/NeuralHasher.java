package dev.nhkit.android;

import android.content.ContentResolver;
import android.content.Context;
import android.net.Uri;

import dev.nhkit.core.BatchHasher;
import dev.nhkit.core.Bundle;
import dev.nhkit.core.BundleManifest;
import dev.nhkit.core.DecodedImage;
import dev.nhkit.core.DirectoryBundleFiles;
import dev.nhkit.core.EmbeddingEngine;
import dev.nhkit.core.HashPipeline;
import dev.nhkit.core.HashResult;
import dev.nhkit.core.ImageDecoder;
import dev.nhkit.core.ImageSource;
import dev.nhkit.core.IoUtil;
import dev.nhkit.core.NhkitException;
import dev.nhkit.core.RgbImage;
import dev.nhkit.core.Spec;

import java.io.Closeable;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The Android entry point: one verified nhkit TFLite bundle, a LiteRT engine and the spec
 * pipeline. Thread-safe; create once (loading verifies every file's sha256) and reuse; close when
 * done.
 *
 * <pre>
 * try (NeuralHasher hasher = NeuralHasher.fromAssets(context, "nhkit/nhkit-mnv3s-v3.tflite-fp16")) {
 *     HashResult r = hasher.hash(contentResolver, uri);
 *     String hex = r.hash.toHex();
 * }
 * </pre>
 */
public final class NeuralHasher implements Closeable {
    /** Largest encoded image read into memory. */
    public static final long MAX_FILE_BYTES = 512L * 1024 * 1024;

    /** Tuning knobs; the defaults suit most apps. */
    public static final class Options {
        int threads = LiteRtEngine.DEFAULT_THREADS;
        int resizeThreads = 2;
        long maxPixels = Spec.DEFAULT_MAX_PIXELS;

        /** CPU threads for LiteRT (fixed; default 2). */
        public Options threads(int threads) {
            if (threads < 1) {
                throw new IllegalArgumentException("threads must be >= 1");
            }
            this.threads = threads;
            return this;
        }

        /** Threads for the resize of large images (default 2; the bytes never depend on it). */
        public Options resizeThreads(int resizeThreads) {
            if (resizeThreads < 1) {
                throw new IllegalArgumentException("resizeThreads must be >= 1");
            }
            this.resizeThreads = resizeThreads;
            return this;
        }

        /** Files with more pixels are rejected before decoding (default 100,000,000). */
        public Options maxPixels(long maxPixels) {
            if (maxPixels < 1) {
                throw new IllegalArgumentException("maxPixels must be >= 1");
            }
            this.maxPixels = maxPixels;
            return this;
        }
    }

    private final Bundle bundle;
    private final LiteRtEngine engine;
    private final HashPipeline pipeline;
    private final ImageDecoder decoder;

    private NeuralHasher(Bundle bundle, LiteRtEngine engine, Options options) {
        this.bundle = bundle;
        this.engine = engine;
        this.pipeline = new HashPipeline(bundle.seed(), bundle.spec(), engine, options.resizeThreads);
        this.decoder = new BitmapDecoder(options.maxPixels);
    }

    /** A bundle folder in the APK's assets, e.g. {@code "nhkit/<bundle_id>"}. */
    public static NeuralHasher fromAssets(Context context, String assetDir) throws NhkitException {
        return fromAssets(context, assetDir, new Options());
    }

    public static NeuralHasher fromAssets(Context context, String assetDir, Options options)
            throws NhkitException {
        AssetBundleFiles files = new AssetBundleFiles(context.getAssets(), assetDir);
        Bundle bundle = Bundle.open(files);
        BundleManifest m = requireTflite(bundle);
        LiteRtEngine engine = LiteRtEngine.fromAsset(files.assets(), files.assetPath(m.modelFile), m,
                options.threads);
        return new NeuralHasher(bundle, engine, options);
    }

    /** A bundle folder on disk (e.g. downloaded and unpacked into {@code getFilesDir()}). */
    public static NeuralHasher fromDirectory(File dir) throws NhkitException {
        return fromDirectory(dir, new Options());
    }

    public static NeuralHasher fromDirectory(File dir, Options options) throws NhkitException {
        DirectoryBundleFiles files = new DirectoryBundleFiles(dir);
        Bundle bundle = Bundle.open(files);
        BundleManifest m = requireTflite(bundle);
        LiteRtEngine engine = LiteRtEngine.fromFile(files.file(m.modelFile), m, options.threads);
        return new NeuralHasher(bundle, engine, options);
    }

    private static BundleManifest requireTflite(Bundle bundle) throws NhkitException.BundleException {
        BundleManifest m = bundle.manifest();
        if (!"tflite".equals(m.target)) {
            throw new NhkitException.BundleException(bundle.files().describe("manifest.json"),
                    "bundle target is \"" + m.target + "\"; the Android bridge runs \"tflite\" bundles");
        }
        return m;
    }

    /** Hashes an encoded image file's bytes (PNG, JPEG, WebP, GIF, BMP; HEIF on API 28+). */
    public HashResult hash(byte[] encoded) throws NhkitException {
        return hash(encoded, "<bytes>");
    }

    public HashResult hash(byte[] encoded, String name) throws NhkitException {
        DecodedImage d = decoder.decode(encoded, name);
        return pipeline.hash(d);
    }

    public HashResult hash(File file) throws NhkitException {
        try (InputStream in = new FileInputStream(file)) {
            return hash(read(in, file.getPath()), file.getPath());
        } catch (IOException e) {
            throw new NhkitException.ImageDecodeException(file.getPath(), "cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads the stream to its end (does not close it). */
    public HashResult hash(InputStream in, String name) throws NhkitException {
        return hash(read(in, name), name);
    }

    public HashResult hash(ContentResolver resolver, Uri uri) throws NhkitException {
        String name = String.valueOf(uri);
        try (InputStream in = resolver.openInputStream(uri)) {
            if (in == null) {
                throw new NhkitException.ImageDecodeException(name, "the content provider returned no data");
            }
            return hash(read(in, name), name);
        } catch (IOException e) {
            throw new NhkitException.ImageDecodeException(name, "cannot read: " + e.getMessage(), e);
        }
    }

    /**
     * Hashes RGB8 samples the app already has (spec step 1 done elsewhere). {@code exifOrientation}
     * is applied when the bundle's spec says {@code apply}; pass 1 for none.
     */
    public HashResult hashRgb(RgbImage rgb, int exifOrientation) throws NhkitException {
        return pipeline.hash(new DecodedImage(rgb, exifOrientation));
    }

    private static byte[] read(InputStream in, String name) throws NhkitException.ImageDecodeException {
        try {
            return IoUtil.readAll(in, MAX_FILE_BYTES);
        } catch (IOException e) {
            throw new NhkitException.ImageDecodeException(name, "cannot read: " + e.getMessage(), e);
        }
    }

    /** The verified bundle (manifest, seed, self-test cases). */
    public Bundle bundle() {
        return bundle;
    }

    public Spec spec() {
        return bundle.spec();
    }

    public HashPipeline pipeline() {
        return pipeline;
    }

    public ImageDecoder decoder() {
        return decoder;
    }

    public EmbeddingEngine engine() {
        return engine;
    }

    /**
     * Batch, cancellable and Executor/callback hashing over this hasher's decoder and engine
     * (thread-safe, see {@link BatchHasher}; Kotlin coroutines: {@code suspendCancellableCoroutine}
     * + {@code Task.cancel()}). Sources: {@link ImageSource#ofFile}, {@link ImageSource#ofBytes}.
     */
    public BatchHasher batchHasher() {
        return new BatchHasher(pipeline, decoder);
    }

    @Override
    public void close() {
        synchronized (engine) {
            engine.close();
        }
    }
}
