package android.graphics;

/** API 26. */
public abstract class ColorSpace {
    public static class Rgb extends ColorSpace {
        private Rgb() {}
    }

    ColorSpace() {}

    public String getName() {
        throw new RuntimeException("Stub!");
    }
}
