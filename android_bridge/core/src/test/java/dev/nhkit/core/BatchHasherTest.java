package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.Test;

/** Batch, asynchronous and cancellable hashing; thread-safety of concurrent callers. */
public class BatchHasherTest {
    /**
     * A test decoder: "W H SEED" -> a WxH image of seeded random pixels; anything else is bad
     * input. Counts calls so tests can see what was (not) decoded.
     */
    static final class TextDecoder implements ImageDecoder {
        final AtomicInteger calls = new AtomicInteger();

        @Override
        public DecodedImage decode(byte[] encoded, String name) throws NhkitException.ImageDecodeException {
            calls.incrementAndGet();
            String[] p = new String(encoded, StandardCharsets.US_ASCII).split(" ");
            if (p.length != 3) {
                throw new NhkitException.ImageDecodeException(name, "not a test image");
            }
            return new DecodedImage(TestSupport.randomImage(new Random(Long.parseLong(p[2])),
                    Integer.parseInt(p[0]), Integer.parseInt(p[1])), 1);
        }
    }

    /** Counts model calls; synchronized counter because engines are called from many threads. */
    static final class CountingEngine implements EmbeddingEngine {
        final BundleTest.FakeEngine inner = new BundleTest.FakeEngine();
        final AtomicInteger calls = new AtomicInteger();
        final AtomicInteger inside = new AtomicInteger();
        volatile boolean overlapped;

        @Override
        public float[] embed(float[] nchw) {
            if (inside.incrementAndGet() > 1) {
                overlapped = true;
            }
            try {
                calls.incrementAndGet();
                return inner.embed(nchw);
            } finally {
                inside.decrementAndGet();
            }
        }

        @Override
        public Info info() {
            return inner.info();
        }

        @Override
        public void close() {}
    }

    private static Seed seed() {
        try {
            return BundleTest.testSeed();
        } catch (NhkitException e) {
            throw new AssertionError(e);
        }
    }

    private static List<ImageSource> sources(String... specs) {
        List<ImageSource> out = new ArrayList<>();
        for (int i = 0; i < specs.length; i++) {
            out.add(ImageSource.ofBytes("img" + i, specs[i].getBytes(StandardCharsets.US_ASCII)));
        }
        return out;
    }

    private final CountingEngine engine = new CountingEngine();
    private final TextDecoder decoder = new TextDecoder();
    private final BatchHasher hasher = new BatchHasher(new HashPipeline(seed(), new Spec(Spec.OrientationPolicy.APPLY, 0.05), engine), decoder);

    @Test
    public void batchKeepsOrderAndGoesOnAfterBadInput() throws Exception {
        List<BatchHasher.Item> items = hasher.hashAll(sources("40 30 1", "garbage", "500 20 2"), null, null);
        assertEquals(3, items.size());
        assertTrue(items.get(0).ok());
        assertFalse(items.get(1).ok());
        assertEquals("img1: not a test image", items.get(1).error);
        assertFalse(items.get(1).cancelled);
        assertTrue(items.get(2).ok());
        assertEquals(hasher.hash(sources("500 20 2").get(0), null).hash, items.get(2).result.hash);
        assertEquals(2, items.get(2).index);
    }

    @Test
    public void cancellingStopsBeforeTheNextImage() {
        final CancellationToken token = new CancellationToken();
        List<BatchHasher.Item> items = hasher.hashAll(sources("40 30 1", "40 30 2", "40 30 3"), token,
                new BatchHasher.Listener() {
                    @Override
                    public void onItem(BatchHasher.Item item) {
                        token.cancel();
                    }
                });
        assertTrue(items.get(0).ok());
        assertTrue(items.get(1).cancelled && items.get(2).cancelled);
        assertEquals("img1: cancelled", items.get(1).error);
        assertEquals(1, engine.calls.get());
        assertEquals(1, decoder.calls.get());
    }

    @Test
    public void callbackApiDeliversOnTheExecutor() throws Exception {
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            final CountDownLatch done = new CountDownLatch(2);
            final AtomicReference<HashResult> ok = new AtomicReference<>();
            final AtomicReference<NhkitException> bad = new AtomicReference<>();
            final AtomicReference<String> thread = new AtomicReference<>();
            BatchHasher.Task t1 = hasher.submit(sources("64 48 5").get(0), ex, new BatchHasher.Callback<HashResult>() {
                @Override
                public void onSuccess(HashResult value) {
                    ok.set(value);
                    thread.set(Thread.currentThread().getName());
                    done.countDown();
                }

                @Override
                public void onFailure(NhkitException error) {
                    done.countDown();
                }
            });
            hasher.submit(sources("nope").get(0), ex, new BatchHasher.Callback<HashResult>() {
                @Override
                public void onSuccess(HashResult value) {
                    done.countDown();
                }

                @Override
                public void onFailure(NhkitException error) {
                    bad.set(error);
                    done.countDown();
                }
            });
            assertTrue(done.await(60, TimeUnit.SECONDS));
            assertTrue(t1.isDone());
            assertEquals(hasher.hash(sources("64 48 5").get(0), null).hash, ok.get().hash);
            assertFalse(Thread.currentThread().getName().equals(thread.get()));
            assertTrue(bad.get() instanceof NhkitException.ImageDecodeException);
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    public void taskCancelledBeforeItRunsNeverTouchesTheModel() throws Exception {
        final List<Runnable> queued = new ArrayList<>();
        final AtomicReference<NhkitException> failure = new AtomicReference<>();
        BatchHasher.Task task = hasher.submitAll(sources("40 30 1", "40 30 2"), queued::add, null,
                new BatchHasher.Callback<List<BatchHasher.Item>>() {
                    @Override
                    public void onSuccess(List<BatchHasher.Item> value) {}

                    @Override
                    public void onFailure(NhkitException error) {
                        failure.set(error);
                    }
                });
        task.cancel();
        queued.get(0).run();
        assertTrue(failure.get() instanceof HashCancelledException);
        assertTrue(task.isDone() && task.isCancelled());
        assertEquals(0, decoder.calls.get());
        assertEquals(0, engine.calls.get());
    }

    @Test
    public void rejectedExecutionIsReportedThroughTheCallback() {
        final AtomicReference<NhkitException> failure = new AtomicReference<>();
        hasher.submit(sources("40 30 1").get(0), r -> {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        }, new BatchHasher.Callback<HashResult>() {
            @Override
            public void onSuccess(HashResult value) {}

            @Override
            public void onFailure(NhkitException error) {
                failure.set(error);
            }
        });
        assertTrue(failure.get().getMessage(), failure.get().getMessage().contains("rejected the task: shut down"));
    }

    @Test
    public void concurrentBatchesGiveTheSequentialHashesAndNeverOverlapTheModel() throws Exception {
        final List<ImageSource> src = sources("40 30 1", "300 200 2", "17 900 3", "360 360 4", "9 9 5", "1200 40 6");
        List<String> want = new ArrayList<>();
        for (BatchHasher.Item i : hasher.hashAll(src, null, null)) {
            want.add(i.result.hash.toHex());
        }
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<BatchHasher.Item>>> runs = new ArrayList<>();
            for (int k = 0; k < 8; k++) {
                final List<ImageSource> order = new ArrayList<>(src);
                Collections.rotate(order, k);
                runs.add(pool.submit(() -> hasher.hashAll(order, null, null)));
            }
            for (int k = 0; k < runs.size(); k++) {
                for (BatchHasher.Item i : runs.get(k).get(120, TimeUnit.SECONDS)) {
                    assertNull(i.error);
                    assertEquals("run " + k + " " + i.name, want.get(Integer.parseInt(i.name.substring(3))),
                            i.result.hash.toHex());
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertFalse("two threads were inside the engine at once", engine.overlapped);
    }
}
