package dev.nhkit.core;

/** Spec step 1 on a platform: encoded file bytes -> RGB8 samples and EXIF orientation. */
public interface ImageDecoder {
    /**
     * @param name names the file in error messages
     * @throws NhkitException.ImageDecodeException for empty, unknown, corrupt, oversized or
     *     unsupported files
     */
    DecodedImage decode(byte[] encoded, String name) throws NhkitException.ImageDecodeException;
}
