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
 * tests/vectors/readers/index.json: the verdict every reader must reach on each file, and the
 * field an error must name. The core reads bundle manifests ({@link BundleManifest#parse}) and
 * self-test cases ({@link SelfTestCase#parseAll}): every such case is run through them. It writes
 * device reports and reads no golden set, so for those files only the verdicts that are JSON
 * syntax are Java's to reach, through {@link Json}: a repeated key (named by its field path), a
 * NaN/Infinity literal and a file cut short are rejected, every other file parses (a UTF-8
 * byte-order mark included). The index's {@code model_cases} need a real model: the jvm
 * module's LiteRtFfmEngineTest runs them.
 */
public class ReaderVectorJsonTest {
    /** Report and golden cases whose verdict is a JSON syntax error. */
    private static final Set<String> SYNTAX_ERRORS = new HashSet<>(Arrays.asList(
            "golden-duplicate-key.json", "golden-nan.json", "golden-truncated.json",
            "report-duplicate-key.json", "report-nan.json", "report-truncated.json"));

    private static File dir() {
        return new File(TestSupport.vectorsDir(), "readers");
    }

    private static List<Object> cases() throws IOException {
        Map<String, Object> index = TestSupport.readJsonObject(new File(dir(), "index.json"));
        assertEquals("nhkit-reader-vectors-v1", Json.getString(index, "schema", "index.json"));
        return Json.getList(index, "cases", "index.json");
    }

    @Test
    public void jsonLayerVerdicts() throws IOException {
        Set<String> listed = new TreeSet<>();
        int syntax = 0;
        for (Object o : cases()) {
            Map<String, Object> c = Json.asObject(o, "index.json case");
            String file = Json.getString(c, "file", "index.json case");
            listed.add(file);
            String reader = Json.getString(c, "reader", file);
            if (!reader.equals("golden") && !reader.equals("report")) {
                continue;
            }
            byte[] bytes = Files.readAllBytes(new File(dir(), file).toPath());
            if (SYNTAX_ERRORS.contains(file)) {
                syntax++;
                assertEquals(file + " verdict in index.json", "invalid", Json.getString(c, "result", file));
                String field = Json.getString(c, "error", file);
                try {
                    Json.parse(bytes);
                    fail(file + ": accepted by Json.parse (expected an error about " + field + ")");
                } catch (Json.JsonException e) {
                    assertTrue(file + ": the error does not name " + field + ": " + e.getMessage(),
                            e.getMessage().contains(field));
                }
            } else {
                Json.parse(bytes);   // throws (failing the test) if a well-formed file is rejected
            }
        }
        assertEquals("syntax-error cases found in index.json", SYNTAX_ERRORS.size(), syntax);
        Set<String> onDisk = new TreeSet<>(Arrays.asList(dir().list((d, n) -> n.endsWith(".json") && !n.equals("index.json"))));
        assertEquals("files in tests/vectors/readers vs index.json", onDisk, listed);
    }

    /** Runs every case of {@code reader}; returns how many ran. */
    private static int verdicts(String reader, java.util.function.Consumer<File> read) throws IOException {
        int ran = 0;
        for (Object o : cases()) {
            Map<String, Object> c = Json.asObject(o, "index.json case");
            if (!reader.equals(Json.getString(c, "reader", "index.json case"))) {
                continue;
            }
            String file = Json.getString(c, "file", "index.json case");
            File f = new File(dir(), file);
            ran++;
            if ("valid".equals(Json.getString(c, "result", file))) {
                read.accept(f);   // throws (failing the test) if a valid file is rejected
                continue;
            }
            String field = Json.getString(c, "error", file);
            try {
                read.accept(f);
                fail(file + ": accepted (expected an error naming " + field + ")");
            } catch (IllegalArgumentException e) {
                assertTrue(file + ": the error does not name " + field + ": " + e.getMessage(),
                        e.getMessage().contains(field));
                assertTrue(file + ": the error does not name the file: " + e.getMessage(),
                        e.getMessage().contains(file));
            }
        }
        return ran;
    }

    private static byte[] bytes(File f) {
        try {
            return Files.readAllBytes(f.toPath());
        } catch (IOException e) {
            throw new AssertionError(f + ": " + e, e);
        }
    }

    @Test
    public void bundleManifestReaderVerdicts() throws IOException {
        int ran = verdicts("manifest", f -> BundleManifest.parse(bytes(f), f.getPath()));
        assertTrue("manifest cases in index.json: " + ran, ran >= 17);
    }

    @Test
    public void selfTestCasesReaderVerdicts() throws IOException {
        int ran = verdicts("cases", f -> SelfTestCase.parseAll(bytes(f), null, f.getPath()));
        assertTrue("cases cases in index.json: " + ran, ran >= 12);
    }
}
