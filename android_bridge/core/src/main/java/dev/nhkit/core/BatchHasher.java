package dev.nhkit.core;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Hashing as apps call it: one image or a batch, synchronously or on an {@link Executor} with a
 * callback, cancellable. Platform-neutral (the Android facade hands out one over its BitmapFactory
 * decoder and LiteRT engine: {@code NeuralHasher.batchHasher()}).
 *
 * <p>Batches go on after a bad image: each {@link Item} carries its result or its error (an
 * {@link NhkitException} message naming the image), in input order.
 *
 * <p>Thread-safety: every method may be called from any number of threads at once. Decoding,
 * orienting, resizing and normalising run in the calling (or executor) thread; the model runs one
 * image at a time ({@link HashPipeline} serialises engine calls), so results never depend on
 * concurrency. Callbacks run on the executor's thread, exactly once per task.
 *
 * <p>From Kotlin coroutines (no library dependency needed):
 * <pre>{@code
 * suspend fun BatchHasher.hashAwait(src: ImageSource, ex: Executor): HashResult =
 *     suspendCancellableCoroutine { cont ->
 *         val task = submit(src, ex, object : BatchHasher.Callback<HashResult> {
 *             override fun onSuccess(value: HashResult) = cont.resume(value)
 *             override fun onFailure(error: NhkitException) = cont.resumeWithException(error)
 *         })
 *         cont.invokeOnCancellation { task.cancel() }
 *     }
 * }</pre>
 */
public final class BatchHasher {
    /** Largest encoded file read (as the Android facade's limit). */
    public static final long MAX_FILE_BYTES = 512L * 1024 * 1024;

    private final HashPipeline pipeline;
    private final ImageDecoder decoder;

    public BatchHasher(HashPipeline pipeline, ImageDecoder decoder) {
        if (pipeline == null || decoder == null) {
            throw new IllegalArgumentException("pipeline and decoder are required");
        }
        this.pipeline = pipeline;
        this.decoder = decoder;
    }

    /** One image's outcome in a batch: {@link #result} or {@link #error}. */
    public static final class Item {
        public final int index;
        public final String name;
        /** {@code null} when the image failed or was cancelled. */
        public final HashResult result;
        /** {@code null} on success; the reason (naming the image) otherwise. */
        public final String error;
        public final boolean cancelled;

        Item(int index, String name, HashResult result, String error, boolean cancelled) {
            this.index = index;
            this.name = name;
            this.result = result;
            this.error = error;
            this.cancelled = cancelled;
        }

        public boolean ok() {
            return result != null;
        }
    }

    /** Progress of a batch: called after each image, in order, on the hashing thread. */
    public interface Listener {
        void onItem(Item item);
    }

    /** The outcome of an asynchronous call; exactly one method is called, once. */
    public interface Callback<T> {
        void onSuccess(T value);

        /** Bad input, a model failure, or {@link HashCancelledException}. */
        void onFailure(NhkitException error);
    }

    /** A submitted call: cancel it (cooperatively) or ask whether it finished. */
    public static final class Task {
        private final CancellationToken token = new CancellationToken();
        private final AtomicBoolean done = new AtomicBoolean();

        public void cancel() {
            token.cancel();
        }

        public boolean isCancelled() {
            return token.isCancelled();
        }

        /** True once the callback has been called. */
        public boolean isDone() {
            return done.get();
        }

        CancellationToken token() {
            return token;
        }
    }

    /** Hashes one image; throws on bad input, a model failure or cancellation. */
    public HashResult hash(ImageSource source, CancellationToken token) throws NhkitException {
        String name = source.name();
        CancellationToken t = token == null ? new CancellationToken() : token;
        t.throwIfCancelled(name);
        byte[] encoded;
        try {
            encoded = source.read(MAX_FILE_BYTES);
        } catch (IOException e) {
            throw new NhkitException.ImageDecodeException(name, "cannot read: " + e.getMessage(), e);
        }
        DecodedImage decoded = decoder.decode(encoded, name);
        t.throwIfCancelled(name);
        HashPipeline.Prepared prepared = pipeline.prepare(decoded, false);
        t.throwIfCancelled(name);
        return pipeline.hash(prepared);
    }

    /**
     * Hashes every source in order; a failing image becomes an {@link Item} with its error and
     * the batch goes on. After cancellation the remaining items are marked cancelled (not
     * hashed).
     */
    public List<Item> hashAll(List<? extends ImageSource> sources, CancellationToken token,
            Listener listener) {
        CancellationToken t = token == null ? new CancellationToken() : token;
        List<Item> out = new ArrayList<>(sources.size());
        for (int i = 0; i < sources.size(); i++) {
            ImageSource s = sources.get(i);
            Item item;
            try {
                item = new Item(i, s.name(), hash(s, t), null, false);
            } catch (HashCancelledException e) {
                item = new Item(i, s.name(), null, e.getMessage(), true);
            } catch (NhkitException e) {
                item = new Item(i, s.name(), null, e.getMessage(), false);
            } catch (RuntimeException e) {
                // A decoder bug must not end the batch; the item says what happened.
                item = new Item(i, s.name(), null, s.name() + ": " + e, false);
            } catch (OutOfMemoryError e) {
                item = new Item(i, s.name(), null, s.name() + ": out of memory", false);
            }
            out.add(item);
            if (listener != null) {
                listener.onItem(item);
            }
        }
        return Collections.unmodifiableList(out);
    }

    /** {@link #hash} on {@code executor}; the callback runs there. */
    public Task submit(final ImageSource source, Executor executor, final Callback<HashResult> callback) {
        final Task task = new Task();
        run(executor, task, callback, new Work<HashResult>() {
            @Override
            public HashResult run() throws NhkitException {
                return hash(source, task.token());
            }
        }, source.name());
        return task;
    }

    /**
     * {@link #hashAll} on {@code executor}; {@code onSuccess} gets every item (including failed
     * and, after a cancel mid-batch, cancelled ones); {@code onFailure} only when cancelled before
     * it started.
     */
    public Task submitAll(final List<? extends ImageSource> sources, Executor executor,
            final Listener listener, final Callback<List<Item>> callback) {
        final Task task = new Task();
        run(executor, task, callback, new Work<List<Item>>() {
            @Override
            public List<Item> run() throws NhkitException {
                task.token().throwIfCancelled("batch of " + sources.size() + " images");
                return hashAll(sources, task.token(), listener);
            }
        }, "batch of " + sources.size() + " images");
        return task;
    }

    private interface Work<T> {
        T run() throws NhkitException;
    }

    private static <T> void run(Executor executor, final Task task, final Callback<T> callback,
            final Work<T> work, final String name) {
        Runnable r = new Runnable() {
            @Override
            public void run() {
                T value;
                try {
                    value = work.run();
                } catch (NhkitException e) {
                    finish(task, callback, null, e);
                    return;
                } catch (RuntimeException e) {
                    finish(task, callback, null, new NhkitException(name, e.toString(), e));
                    return;
                }
                finish(task, callback, value, null);
            }
        };
        try {
            executor.execute(r);
        } catch (RejectedExecutionException e) {
            finish(task, callback, null, new NhkitException(name, "the executor rejected the task: "
                    + e.getMessage(), e));
        }
    }

    private static <T> void finish(Task task, Callback<T> callback, T value, NhkitException error) {
        if (!task.done.compareAndSet(false, true)) {
            return;
        }
        if (error != null) {
            callback.onFailure(error);
        } else {
            callback.onSuccess(value);
        }
    }
}
