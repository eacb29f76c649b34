package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.Random;

import org.junit.Test;

/** NeuralHash, FloatHex, Projection and Seed behaviour beyond what the shared vectors cover. */
public class HashValueTest {
    @Test
    public void bitZeroIsTheMostSignificantBitOfTheFirstDigit() {
        boolean[] bits = new boolean[96];
        bits[0] = true;
        assertEquals("800000000000000000000000", NeuralHash.fromBits(bits).toHex());
        bits[0] = false;
        bits[63] = true;
        bits[64] = true;
        bits[95] = true;
        NeuralHash h = NeuralHash.fromBits(bits);
        assertEquals("000000000000000180000001", h.toHex());
        assertTrue(h.bit(63) && h.bit(64) && h.bit(95) && !h.bit(0));
        assertEquals(3, h.bitCount());
    }

    @Test
    public void randomRoundTripsAndHamming() {
        Random rnd = new Random(5);
        for (int n = 0; n < 200; n++) {
            byte[] a = new byte[12];
            byte[] b = new byte[12];
            rnd.nextBytes(a);
            rnd.nextBytes(b);
            NeuralHash ha = NeuralHash.fromBytes(a);
            NeuralHash hb = NeuralHash.fromBytes(b);
            assertEquals(Hex.encode(a), ha.toHex());
            assertEquals(ha, NeuralHash.fromHex(ha.toHex().toUpperCase(java.util.Locale.ROOT)));
            assertEquals(ha, NeuralHash.fromBits(ha.toBits()));
            int d = 0;
            for (int i = 0; i < 96; i++) {
                d += ha.bit(i) != hb.bit(i) ? 1 : 0;
            }
            assertEquals(d, ha.hamming(hb));
            assertEquals(d, hb.hamming(ha));
            assertEquals(ha.hashCode(), NeuralHash.fromHex(ha.toHex()).hashCode());
        }
    }

    @Test
    public void rejectsNonAsciiDigitsAndWrongLengths() {
        String[] bad = {null, "", "0".repeat(23), "0".repeat(25), "\u0660".repeat(24),
            "\uff10".repeat(24), "0x" + "0".repeat(22), "g" + "0".repeat(23)};
        for (String s : bad) {
            try {
                NeuralHash.fromHex(s);
                fail("accepted " + s);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage().contains("24 hex digits"));
            }
        }
    }

    @Test
    public void floatHexIsExactAndStrict() {
        assertEquals("3f800000", FloatHex.f32ToHex(1.0f));
        assertEquals("3ff0000000000000", FloatHex.f64ToHex(1.0));
        assertEquals("80000000", FloatHex.f32ToHex(-0.0f));
        assertEquals("7fc00000", FloatHex.f32ToHex(Float.intBitsToFloat(0x7fc00000)));
        Random rnd = new Random(9);
        for (int i = 0; i < 1000; i++) {
            int fb = rnd.nextInt();
            long db = rnd.nextLong();
            assertEquals(fb, Float.floatToRawIntBits(FloatHex.hexToF32(FloatHex.f32ToHex(
                    Float.intBitsToFloat(fb)), "f")));
            assertEquals(db, Double.doubleToRawLongBits(FloatHex.hexToF64(FloatHex.f64ToHex(
                    Double.longBitsToDouble(db)), "d")));
        }
        for (String s : new String[] {"3F800000", "3f80000", "3f8000000", "+3f80000", "3f80000g"}) {
            try {
                FloatHex.hexToF32(s, "x");
                fail("accepted " + s);
            } catch (IllegalArgumentException expected) {
                assertTrue(expected.getMessage().startsWith("x: "));
            }
        }
    }

    @Test
    public void projectionAddsLeftToRightInBinary64() throws Exception {
        // Row 0 of the seed is all ones; e = [1e16, 1, -1e16, 1, 0...]: left to right,
        // 1e16 + 1 rounds back to 1e16 in binary64, so the sum is ((1e16 + 1) - 1e16) + 1 = 1.
        byte[] data = new byte[Seed.F32_BYTES];
        java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < Seed.ROWS * Seed.COLS; i++) {
            bb.putFloat(i < Seed.COLS ? 1.0f : (i % 7) - 3.0f);
        }
        Seed seed = Seed.parse(data, "test");
        float[] e = new float[128];
        e[0] = 1e16f;
        e[1] = 1f;
        e[2] = -1e16f;
        e[3] = 1f;
        double[] p = Projection.project(seed, e);
        double expect = 0.0;
        for (int j = 0; j < 128; j++) {
            expect = expect + (double) seed.get(0, j) * (double) e[j];
        }
        assertEquals(Double.doubleToRawLongBits(expect), Double.doubleToRawLongBits(p[0]));
        assertEquals(1.0, p[0], 0.0);
    }

    @Test
    public void signTreatsNegativeZeroAsOneAndFragileUsesStrictLess() {
        double[] p = new double[96];
        p[0] = -0.0;
        p[1] = -1e-300;
        p[2] = 0.1;
        p[3] = -0.1;
        p[4] = 0.09999999999999999;
        NeuralHash h = Projection.sign(p);
        assertTrue(h.bit(0));
        assertTrue(!h.bit(1));
        NeuralHash f = Projection.fragileMask(p, 0.1);
        assertTrue(f.bit(0) && f.bit(1) && !f.bit(2) && !f.bit(3) && f.bit(4));
        assertEquals(0, Projection.fragileMask(p, 0.0).bitCount());
        p[5] = Double.NaN;
        try {
            Projection.sign(p);
            fail();
        } catch (IllegalArgumentException expected) {
            // NaN is an error, not a bit
        }
    }

    @Test
    public void seedErrorsNameTheFileAndPosition() throws Exception {
        byte[] data = new byte[Seed.F32_BYTES];
        java.nio.ByteBuffer.wrap(data).order(java.nio.ByteOrder.LITTLE_ENDIAN).putFloat(4 * 130,
                Float.NaN);
        try {
            Seed.parse(data, "/x/seed.f32");
            fail();
        } catch (NhkitException.SeedFileException e) {
            assertEquals("/x/seed.f32", e.path());
            assertTrue(e.getMessage(), e.getMessage().contains("row 1, column 2"));
        }
        java.io.File f = java.io.File.createTempFile("seed", ".f32");
        try {
            java.nio.file.Files.write(f.toPath(), new byte[Seed.DAT_BYTES]);
            assertEquals(Seed.parse(new byte[Seed.F32_BYTES], "z").sha256Hex(),
                    Seed.load(f).sha256Hex());
            java.nio.file.Files.write(f.toPath(), new byte[10]);
            try {
                Seed.load(f);
                fail();
            } catch (NhkitException.SeedFileException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith(f.getPath() + ": seed file has 10 bytes"));
            }
        } finally {
            f.delete();
        }
        assertNotEquals(null, Seed.parse(new byte[Seed.F32_BYTES], "z").toArray());
    }
}
