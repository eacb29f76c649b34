package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.Test;

/**
 * tests/vectors/readers/index.json through the JSON layer the core would read reports and goldens
 * with ({@link Json}). The core writes device reports and reads no golden set, so only the
 * verdicts that are JSON syntax are Java's to reach: a repeated key, a NaN/Infinity literal and a
 * file cut short are rejected; every other file is well-formed JSON (its verdict belongs to a
 * format reader: Python's, Swift's {@code DeviceReport.load}).
 */
public class ReaderVectorJsonTest {
    /** The cases whose verdict is a JSON syntax error. */
    private static final Set<String> SYNTAX_ERRORS = new HashSet<>(Arrays.asList(
            "golden-duplicate-key.json", "golden-nan.json", "golden-truncated.json",
            "report-duplicate-key.json", "report-nan.json", "report-truncated.json"));
    /** Tolerated by the golden reader only; {@link Json} rejects a byte-order mark (the core never
     * reads a golden set, and its writers never write one). */
    private static final String BOM_CASE = "golden-bom.json";

    @Test
    public void jsonLayerVerdicts() throws IOException {
        File dir = new File(TestSupport.vectorsDir(), "readers");
        Map<String, Object> index = TestSupport.readJsonObject(new File(dir, "index.json"));
        assertEquals("nhkit-reader-vectors-v1", Json.getString(index, "schema", "index.json"));
        List<Object> cases = Json.getList(index, "cases", "index.json");
        Set<String> listed = new TreeSet<>();
        int syntax = 0;
        for (Object o : cases) {
            Map<String, Object> c = Json.asObject(o, "index.json case");
            String file = Json.getString(c, "file", "index.json case");
            listed.add(file);
            byte[] bytes = Files.readAllBytes(new File(dir, file).toPath());
            if (SYNTAX_ERRORS.contains(file)) {
                syntax++;
                assertEquals(file + " verdict in index.json", "invalid", Json.getString(c, "result", file));
                String field = Json.getString(c, "error", file);
                try {
                    Json.parse(bytes);
                    fail(file + ": accepted by Json.parse (expected an error about " + field + ")");
                } catch (Json.JsonException e) {
                    if (file.contains("duplicate-key")) {
                        String key = field.substring(field.lastIndexOf('.') + 1);
                        assertTrue(file + ": the error does not name the repeated key " + key + ": "
                                + e.getMessage(), e.getMessage().contains("\"" + key + "\""));
                    }
                }
            } else if (!file.equals(BOM_CASE)) {
                Json.parse(bytes);   // throws (failing the test) if a well-formed file is rejected
            }
        }
        assertEquals("syntax-error cases found in index.json", SYNTAX_ERRORS.size(), syntax);
        Set<String> onDisk = new TreeSet<>(Arrays.asList(dir.list((d, n) -> n.endsWith(".json") && !n.equals("index.json"))));
        assertEquals("files in tests/vectors/readers vs index.json", onDisk, listed);
    }
}
