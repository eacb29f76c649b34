package dev.nhkit.core;

/**
 * Cooperative cancellation for {@link BatchHasher}: checked before each image and between its
 * stages (after decoding, before the model), so a cancelled batch stops within one stage of one
 * image. Thread-safe; cancel from any thread (e.g. Kotlin's {@code invokeOnCancellation}).
 */
public final class CancellationToken {
    private volatile boolean cancelled;

    public void cancel() {
        cancelled = true;
    }

    public boolean isCancelled() {
        return cancelled;
    }

    /** @throws HashCancelledException naming {@code what} when cancelled */
    public void throwIfCancelled(String what) throws HashCancelledException {
        if (cancelled) {
            throw new HashCancelledException(what);
        }
    }
}
