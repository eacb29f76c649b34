package dev.nhkit.core;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;

/** One encoded image for {@link BatchHasher}: a name for messages and reports, and its bytes. */
public interface ImageSource {
    /** Names the image in errors and batch results (a path, a URI, an id). */
    String name();

    /** The encoded file, at most {@code limit} bytes (more is an error naming the source). */
    byte[] read(long limit) throws IOException;

    static ImageSource ofBytes(final String name, final byte[] encoded) {
        return new ImageSource() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public byte[] read(long limit) throws IOException {
                if (encoded.length > limit) {
                    throw new IOException(encoded.length + " bytes exceed the limit of " + limit);
                }
                return encoded;
            }
        };
    }

    static ImageSource ofFile(final File file) {
        return new ImageSource() {
            @Override
            public String name() {
                return file.getPath();
            }

            @Override
            public byte[] read(long limit) throws IOException {
                try (InputStream in = new FileInputStream(file)) {
                    return IoUtil.readAll(in, limit);
                }
            }
        };
    }
}
