package dev.nhkit.core;

/** The work on {@code path} was cancelled through a {@link CancellationToken} before it finished. */
public final class HashCancelledException extends NhkitException {
    private static final long serialVersionUID = 1L;

    public HashCancelledException(String path) {
        super(path, "cancelled");
    }
}
