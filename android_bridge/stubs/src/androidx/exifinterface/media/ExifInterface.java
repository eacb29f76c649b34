package androidx.exifinterface.media;

import java.io.IOException;
import java.io.InputStream;

public class ExifInterface {
    public static final String TAG_ORIENTATION = "Orientation";
    public static final int ORIENTATION_NORMAL = 1;

    public ExifInterface(InputStream inputStream) throws IOException {
        throw new RuntimeException("Stub!");
    }

    public int getAttributeInt(String tag, int defaultValue) {
        throw new RuntimeException("Stub!");
    }
}
