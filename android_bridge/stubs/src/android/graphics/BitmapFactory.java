package android.graphics;

public class BitmapFactory {
    public static class Options {
        public boolean inJustDecodeBounds;
        public boolean inMutable;
        public boolean inPremultiplied;
        public boolean inScaled;
        public int inSampleSize;
        public Bitmap.Config inPreferredConfig;
        /** API 26. */
        public ColorSpace inPreferredColorSpace;
        public int outWidth;
        public int outHeight;
        public String outMimeType;
        /** API 26. */
        public Bitmap.Config outConfig;
        /** API 26. */
        public ColorSpace outColorSpace;
    }

    public static Bitmap decodeByteArray(byte[] data, int offset, int length, Options opts) {
        throw new RuntimeException("Stub!");
    }
}
