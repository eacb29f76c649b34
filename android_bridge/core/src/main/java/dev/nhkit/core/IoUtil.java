package dev.nhkit.core;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Small I/O helpers that exist on Android API 24 (no {@code InputStream.readAllBytes}).
 * Public only for the Android bridge ({@code dev.nhkit.android.NeuralHasher}), which reads image
 * streams with the same size cap; not part of the API apps should use.
 */
public final class IoUtil {
    private IoUtil() {}

    /**
     * Reads {@code in} to its end. More than {@code limit} bytes is an IOException, so a wrong
     * or hostile file cannot exhaust memory.
     */
    public static byte[] readAll(InputStream in, long limit) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = in.read(buf)) != -1) {
            total += n;
            if (total > limit) {
                throw new IOException("file is larger than the limit of " + limit + " bytes");
            }
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }
}
