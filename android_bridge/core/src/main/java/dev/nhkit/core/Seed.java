package dev.nhkit.core;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The 96x128 float32 projection matrix (spec section 8). Parsed from a nhkit {@code seed.f32}
 * (49,152 bytes, row-major little-endian float32, no header) or a NeuralHash {@code .dat}
 * (a 128-byte header, then the same 49,152 bytes). Any other size, NaN or infinity is an error
 * naming the file.
 */
public final class Seed {
    public static final int ROWS = Spec.HASH_BITS;
    public static final int COLS = Spec.EMBEDDING_DIM;
    public static final int DAT_HEADER_BYTES = 128;
    public static final int F32_BYTES = ROWS * COLS * 4;
    public static final int DAT_BYTES = DAT_HEADER_BYTES + F32_BYTES;

    /** Row-major, {@code values[i * COLS + j] = S[i][j]}. */
    private final float[] values;

    private Seed(float[] values) {
        this.values = values;
    }

    /** Parses seed bytes; the format is decided by size alone (the two valid sizes differ). */
    public static Seed parse(byte[] data, String source) throws NhkitException.SeedFileException {
        int offset;
        if (data.length == DAT_BYTES) {
            offset = DAT_HEADER_BYTES;
        } else if (data.length == F32_BYTES) {
            offset = 0;
        } else {
            throw new NhkitException.SeedFileException(source, "seed file has " + data.length
                    + " bytes; expected " + DAT_BYTES + " (NeuralHash .dat: " + DAT_HEADER_BYTES
                    + "-byte header + " + ROWS + "x" + COLS + " float32) or " + F32_BYTES
                    + " (nhkit seed.f32)");
        }
        ByteBuffer bb = ByteBuffer.wrap(data, offset, F32_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[ROWS * COLS];
        int bad = 0;
        int firstBad = -1;
        for (int i = 0; i < v.length; i++) {
            float f = bb.getFloat();
            if (Float.isNaN(f) || Float.isInfinite(f)) {
                if (firstBad < 0) {
                    firstBad = i;
                }
                bad++;
            }
            v[i] = f;
        }
        if (bad > 0) {
            throw new NhkitException.SeedFileException(source, "seed holds " + bad
                    + " non-finite values (first at row " + (firstBad / COLS) + ", column "
                    + (firstBad % COLS) + ": " + v[firstBad] + ")");
        }
        return new Seed(v);
    }

    /** Reads and parses a seed file; errors name the file. */
    public static Seed load(File file) throws NhkitException.SeedFileException {
        byte[] data;
        try (InputStream in = new FileInputStream(file)) {
            data = IoUtil.readAll(in, DAT_BYTES + 1);
        } catch (IOException e) {
            throw new NhkitException.SeedFileException(file.getPath(),
                    "cannot read seed file: " + e.getMessage());
        }
        return parse(data, file.getPath());
    }

    /** {@code S[row][col]}. */
    public float get(int row, int col) {
        if (row < 0 || row >= ROWS || col < 0 || col >= COLS) {
            throw new IndexOutOfBoundsException("seed index [" + row + "][" + col + "]");
        }
        return values[row * COLS + col];
    }

    /** A copy of the row-major matrix. */
    public float[] toArray() {
        return values.clone();
    }

    /** Package-private view without a copy (for {@link Projection}). */
    float[] raw() {
        return values;
    }

    /** The canonical {@code seed.f32} bytes: row-major little-endian float32, no header. */
    public byte[] toF32Bytes() {
        ByteBuffer bb = ByteBuffer.allocate(F32_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : values) {
            bb.putFloat(f);
        }
        return bb.array();
    }

    /** sha256 of {@link #toF32Bytes()}; what a bundle manifest's {@code seed.sha256} records. */
    public String sha256Hex() {
        return Digests.sha256Hex(toF32Bytes());
    }
}
