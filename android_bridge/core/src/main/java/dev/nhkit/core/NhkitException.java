package dev.nhkit.core;

/**
 * Base of every error nhkit raises on purpose about user-supplied input (an image, a seed, a
 * bundle, a model). The message always names the file (when there is one) and the problem, so an
 * app can show or log one line instead of a stack trace.
 */
public class NhkitException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String path;
    private final String reason;

    public NhkitException(String path, String reason) {
        this(path, reason, null);
    }

    public NhkitException(String path, String reason, Throwable cause) {
        super(path == null ? reason : path + ": " + reason, cause);
        this.path = path;
        this.reason = reason;
    }

    /** The file (or asset path, or case id) the error is about; {@code null} when there is none. */
    public String path() {
        return path;
    }

    /** The problem, without the path. */
    public String reason() {
        return reason;
    }

    /** A seed file has the wrong size or holds NaN or infinity (spec section 8). */
    public static final class SeedFileException extends NhkitException {
        private static final long serialVersionUID = 1L;

        public SeedFileException(String path, String reason) {
            super(path, reason);
        }
    }

    /** A bundle is malformed, incomplete, or a file does not match its listed size or sha256. */
    public static final class BundleException extends NhkitException {
        private static final long serialVersionUID = 1L;

        public BundleException(String path, String reason) {
            super(path, reason);
        }

        public BundleException(String path, String reason, Throwable cause) {
            super(path, reason, cause);
        }
    }

    /** An image could not be turned into RGB8 samples under the spec's rules (step 1). */
    public static final class ImageDecodeException extends NhkitException {
        private static final long serialVersionUID = 1L;

        public ImageDecodeException(String path, String reason) {
            super(path, reason);
        }

        public ImageDecodeException(String path, String reason, Throwable cause) {
            super(path, reason, cause);
        }
    }

    /**
     * The model could not be loaded or run, does not have the NeuralHash interface, or produced
     * an embedding whose projections are NaN or infinite.
     */
    public static final class ModelException extends NhkitException {
        private static final long serialVersionUID = 1L;

        public ModelException(String path, String reason) {
            super(path, reason);
        }

        public ModelException(String path, String reason, Throwable cause) {
            super(path, reason, cause);
        }
    }
}
