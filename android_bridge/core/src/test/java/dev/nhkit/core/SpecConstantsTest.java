package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.Test;

/**
 * The core's spec constants against tests/vectors/spec/spec.json (the constants of
 * docs/spec/nh-spec-v1.md as the Python reference writes them), so a change of the spec that
 * the Java side misses fails here rather than as a hash mismatch on a device.
 */
public class SpecConstantsTest {
    /**
     * spec.json keys the core has no named constant for (the value lives inside an algorithm and
     * is covered by the conformance vectors instead). A key in neither this set nor the checks
     * below fails the test, so a constant added to spec.json must be looked at here.
     */
    private static final TreeSet<String> NOT_NAMED_IN_CORE = new TreeSet<>(java.util.Arrays.asList(
            "input_channels", "canonical_layout", "bicubic_a", "exif_orientation_tag",
            "orientation_values"));

    private static Map<String, Object> constants() {
        File f = new File(TestSupport.vectorsDir(), "spec/spec.json");
        assertTrue("missing " + f, f.isFile());
        Map<String, Object> root = TestSupport.readJsonObject(f);
        assertEquals("spec.json schema", "nhkit-spec-constants-v1", Json.getString(root, "schema", f.getPath()));
        assertEquals("spec.json spec id", Spec.ID, Json.getString(root, "spec", f.getPath()));
        return Json.getObject(root, "constants", f.getPath());
    }

    @Test
    public void constantsMatchSpecJson() {
        Map<String, Object> c = constants();
        TreeSet<String> checked = new TreeSet<>();
        List<String> mismatches = new ArrayList<>();
        Object[][] expected = {
            {"input_size", (long) Spec.SIZE},
            {"resize", Spec.RESIZE},
            {"resize_precision_bits", (long) BicubicResize.PRECISION_BITS},
            {"normalise", Spec.NORMALISE},
            {"embedding_dim", (long) Spec.EMBEDDING_DIM},
            {"hash_bits", (long) Spec.HASH_BITS},
            {"hash_hex_digits", (long) NeuralHash.HEX_DIGITS},
            {"seed_rows", (long) Seed.ROWS},
            {"seed_cols", (long) Seed.COLS},
            {"seed_f32_bytes", (long) Seed.F32_BYTES},
            {"seed_dat_header_bytes", (long) Seed.DAT_HEADER_BYTES},
            {"seed_dat_bytes", (long) Seed.DAT_BYTES},
            {"default_max_pixels", Spec.DEFAULT_MAX_PIXELS},
        };
        for (Object[] e : expected) {
            String key = (String) e[0];
            checked.add(key);
            Object want = c.get(key);
            if (!e[1].equals(want)) {
                mismatches.add(key + ": spec.json " + want + ", Java " + e[1]);
            }
        }
        List<Object> policies = new ArrayList<>();
        for (Spec.OrientationPolicy p : Spec.OrientationPolicy.values()) {
            policies.add(p.jsonName);
        }
        checked.add("orientation_policies");
        if (!policies.equals(c.get("orientation_policies"))) {
            mismatches.add("orientation_policies: spec.json " + c.get("orientation_policies") + ", Java " + policies);
        }
        assertEquals("spec constants that differ", new ArrayList<String>(), mismatches);

        TreeSet<String> unaccounted = new TreeSet<>(c.keySet());
        unaccounted.removeAll(checked);
        unaccounted.removeAll(NOT_NAMED_IN_CORE);
        assertEquals("spec.json constants neither checked nor listed as not named in core",
                new TreeSet<String>(), unaccounted);
        TreeSet<String> stale = new TreeSet<>(NOT_NAMED_IN_CORE);
        stale.removeAll(c.keySet());
        assertEquals("NOT_NAMED_IN_CORE keys missing from spec.json", new TreeSet<String>(), stale);
    }
}
