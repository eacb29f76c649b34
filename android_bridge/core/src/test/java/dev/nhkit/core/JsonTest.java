package dev.nhkit.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.Test;

public class JsonTest {
    @Test
    public void parsesAllValueKinds() {
        Map<String, Object> m = Json.asObject(Json.parse(
                "{\"s\": \"a\\\"b\\\\c\\/\\n\\u00e9\\ud83d\\ude00\", \"i\": -12, \"big\": 123456789012345678901,"
                        + " \"d\": 0.1, \"e\": 1e-5, \"E\": -2.5E+3, \"t\": true, \"f\": false, \"n\": null,"
                        + " \"a\": [1, [2, {}], []], \"o\": {\"k\": {}}}"), "doc");
        assertEquals("a\"b\\c/\n\u00e9\ud83d\ude00", m.get("s"));
        assertEquals(-12L, m.get("i"));
        assertEquals(new BigInteger("123456789012345678901"), m.get("big"));
        assertEquals(0.1, m.get("d"));
        assertEquals(1e-5, m.get("e"));
        assertEquals(-2500.0, m.get("E"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertTrue(m.containsKey("n"));
        assertNull(m.get("n"));
        assertEquals(Arrays.asList("s", "i", "big", "d", "e", "E", "t", "f", "n", "a", "o"),
                Arrays.asList(m.keySet().toArray()));
    }

    @Test
    public void rejectsMalformedDocuments() {
        String[] bad = {"", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[01]", "[1.]",
            "[.5]", "[1e]", "[-]", "[+1]", "\"\\x\"", "\"a", "\"\u0001\"", "tru", "nul", "[1] 2",
            "{\"a\":1,\"a\":2}", "[NaN]", "[Infinity]", "\uFEFF{}", "'a'", "[1e999]", "\"\\u12\"",
            "\"\\u00G0\""};
        for (String s : bad) {
            try {
                Json.parse(s);
                fail("accepted malformed JSON: " + s);
            } catch (Json.JsonException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().length() > 0);
            }
        }
    }

    @Test
    public void errorsSayWhere() {
        try {
            Json.parse("{\n  \"a\": [1, 2,, 3]\n}");
            fail();
        } catch (Json.JsonException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("line 2"));
        }
    }

    @Test
    public void rejectsDeepNesting() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 10_000; i++) {
            sb.append('[');
        }
        try {
            Json.parse(sb.toString());
            fail();
        } catch (Json.JsonException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("nesting"));
        }
    }

    @Test
    public void rejectsInvalidUtf8() {
        try {
            Json.parse(new byte[] {'"', (byte) 0xc3, '"'});
            fail();
        } catch (Json.JsonException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("UTF-8"));
        }
    }

    @Test
    public void writesLikePythonJsonDumpsIndent2() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", "nhkit-device-report");
        m.put("format_version", 1L);
        m.put("list", Arrays.asList("a", 2L, null, true));
        m.put("empty", new LinkedHashMap<String, Object>());
        m.put("none", Arrays.asList());
        m.put("text", "\u00e9\t\"\u007f");
        // python3 -c 'import json; print(json.dumps({...}, indent=2))'
        String want = "{\n  \"format\": \"nhkit-device-report\",\n  \"format_version\": 1,\n"
                + "  \"list\": [\n    \"a\",\n    2,\n    null,\n    true\n  ],\n  \"empty\": {},\n"
                + "  \"none\": [],\n  \"text\": \"\\u00e9\\t\\\"\\u007f\"\n}\n";
        assertEquals(want, Json.writePretty(m));
        assertEquals("{\"format\":\"nhkit-device-report\",\"format_version\":1,\"list\":[\"a\",2,null,"
                + "true],\"empty\":{},\"none\":[],\"text\":\"\\u00e9\\t\\\"\\u007f\"}",
                Json.writeCompact(m));
    }

    @Test
    public void roundTripsValuesExactly() {
        Map<String, Object> m = new LinkedHashMap<>();
        double[] doubles = {0.1, 1e-5, 123.456, 5e-324, 1.7976931348623157e308, -0.0, 2e23, 1e22,
            0.30000000000000004, 100.0};
        for (int i = 0; i < doubles.length; i++) {
            m.put("d" + i, doubles[i]);
        }
        m.put("long", Long.MIN_VALUE);
        m.put("big", new BigInteger("-98765432109876543210"));
        m.put("str", "line\nbreak \u0000 \ud83d\ude00 \u2028");
        m.put("nested", Arrays.asList(Arrays.asList(), new LinkedHashMap<>()));
        for (String text : new String[] {Json.writePretty(m), Json.writeCompact(m)}) {
            Map<String, Object> back = Json.asObject(Json.parse(text.getBytes(StandardCharsets.UTF_8)),
                    "back");
            assertEquals(m.keySet(), back.keySet());
            for (int i = 0; i < doubles.length; i++) {
                assertEquals("d" + i, Double.doubleToRawLongBits(doubles[i]),
                        Double.doubleToRawLongBits((Double) back.get("d" + i)));
            }
            assertEquals(Long.MIN_VALUE, back.get("long"));
            assertEquals(m.get("big"), back.get("big"));
            assertEquals(m.get("str"), back.get("str"));
            assertEquals(m.get("nested"), back.get("nested"));
            assertEquals(text.contains("\n") ? Json.writePretty(back) : Json.writeCompact(back), text);
        }
    }

    @Test
    public void refusesNonFiniteNumbers() {
        for (double d : new double[] {Double.NaN, Double.POSITIVE_INFINITY}) {
            try {
                Json.writeCompact(Arrays.asList(d));
                fail();
            } catch (Json.JsonException expected) {
                // hex bit patterns are the way to carry these
            }
        }
    }

    @Test
    public void typedAccessorsNameTheField() {
        Map<String, Object> m = Json.asObject(Json.parse("{\"a\": \"x\", \"n\": 1.5}"), "doc");
        try {
            Json.getLong(m, "a", "doc.a");
            fail();
        } catch (Json.JsonException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("doc.a: expected an integer"));
        }
        try {
            Json.getLong(m, "n", "doc.n");
            fail();
        } catch (Json.JsonException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("doc.n"));
        }
        try {
            Json.getString(m, "missing", "doc.missing");
            fail();
        } catch (Json.JsonException e) {
            assertEquals("doc.missing: missing", e.getMessage());
        }
        List<Object> l = Json.asList(Json.parse("[]"), "l");
        assertTrue(l.isEmpty());
    }
}
