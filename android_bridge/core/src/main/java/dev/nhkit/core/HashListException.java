package dev.nhkit.core;

/**
 * A hash list (docs/hashlist-format.md) that cannot be used: unreadable, malformed, tampered
 * with (a size or sha256 that differs from its manifest), inconsistent, or made with another
 * model or seed than the hashes it is matched against. The message names the file and the field;
 * {@link #field()} gives the field alone, so an app (or a test) can tell what was wrong without
 * parsing the text.
 */
public final class HashListException extends NhkitException {
    private static final long serialVersionUID = 1L;

    private final String field;

    public HashListException(String path, String field, String reason) {
        this(path, field, reason, null);
    }

    public HashListException(String path, String field, String reason, Throwable cause) {
        super(path, field + ": " + reason, cause);
        this.field = field;
    }

    /**
     * The file or manifest field at fault: a file name ({@code manifest.json}, {@code hashes.bin},
     * ...), a manifest field ({@code format_version}, {@code counts.entries},
     * {@code model.fingerprint}, ...) or an entry field ({@code id}, {@code label}, ...).
     */
    public String field() {
        return field;
    }
}
