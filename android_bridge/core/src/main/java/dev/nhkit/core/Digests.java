package dev.nhkit.core;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * SHA-256 via {@code java.security} (present on every JVM and Android). Lowercase hex out.
 * Package-private: stage digests and bundle checksums are computed inside the core.
 */
final class Digests {
    private Digests() {}

    static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            // Every Java platform must provide SHA-256 (java.security.MessageDigest contract).
            throw new IllegalStateException("SHA-256 is not available on this platform", e);
        }
    }

    static String sha256Hex(byte[] data) {
        return Hex.encode(newSha256().digest(data));
    }

    static String sha256Hex(byte[] data, int offset, int length) {
        MessageDigest md = newSha256();
        md.update(data, offset, length);
        return Hex.encode(md.digest());
    }

    /** Result of streaming a file through SHA-256. */
    static final class StreamDigest {
        public final String sha256;
        public final long size;

        StreamDigest(String sha256, long size) {
            this.sha256 = sha256;
            this.size = size;
        }
    }

    /** Reads {@code in} to its end (does not close it). */
    static StreamDigest sha256Hex(InputStream in) throws IOException {
        MessageDigest md = newSha256();
        byte[] buf = new byte[64 * 1024];
        long size = 0;
        int n;
        while ((n = in.read(buf)) != -1) {
            md.update(buf, 0, n);
            size += n;
        }
        return new StreamDigest(Hex.encode(md.digest()), size);
    }
}
