package dev.nhkit.core;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The keys and JSON types of an nhkit file format (bundle manifest, self-test cases): what the
 * format's JSON Schema ({@code runtime/schemas/}) says about structure, so the core reaches the
 * same verdict as Python's schema check on a missing, unknown or mistyped field and names the
 * same field path ({@code model.inputs[0].shape[1]}). Values (patterns, ranges) are checked by
 * each format's reader. Swift has the same table ({@code NHCore/JSONShape.swift}).
 */
final class JsonShape {
    private enum Kind { ANY, STRING, INTEGER, NUMBER, BOOLEAN, ARRAY, OBJECT, MAP }

    private final Kind kind;
    private final boolean nullable;
    /** ARRAY, MAP: the shape of each item. */
    private final JsonShape item;
    /** OBJECT: the fields, sorted by key. */
    private final Map<String, JsonShape> fields;
    private final Set<String> optional;

    private JsonShape(Kind kind, boolean nullable, JsonShape item, Map<String, JsonShape> fields,
            Set<String> optional) {
        this.kind = kind;
        this.nullable = nullable;
        this.item = item;
        this.fields = fields;
        this.optional = optional;
    }

    static final JsonShape ANY = new JsonShape(Kind.ANY, true, null, null, null);
    static final JsonShape STRING = new JsonShape(Kind.STRING, false, null, null, null);
    /** A number literal without fraction or exponent. */
    static final JsonShape INTEGER = new JsonShape(Kind.INTEGER, false, null, null, null);
    static final JsonShape NUMBER = new JsonShape(Kind.NUMBER, false, null, null, null);
    static final JsonShape BOOLEAN = new JsonShape(Kind.BOOLEAN, false, null, null, null);

    static JsonShape array(JsonShape item) {
        return new JsonShape(Kind.ARRAY, false, item, null, null);
    }

    /** Free-form keys, each value of one shape ({@code tools}). */
    static JsonShape map(JsonShape item) {
        return new JsonShape(Kind.MAP, false, item, null, null);
    }

    /**
     * An object: {@code keysAndShapes} alternates key, shape. Every key is required except
     * {@code optional} ones; no other key is allowed.
     */
    static JsonShape object(Object... keysAndShapes) {
        return objectWithOptional(Collections.<String>emptySet(), keysAndShapes);
    }

    static JsonShape objectWithOptional(Set<String> optional, Object... keysAndShapes) {
        Map<String, JsonShape> m = new TreeMap<>();
        for (int i = 0; i < keysAndShapes.length; i += 2) {
            m.put((String) keysAndShapes[i], (JsonShape) keysAndShapes[i + 1]);
        }
        return new JsonShape(Kind.OBJECT, false, null, Collections.unmodifiableMap(m),
                Collections.unmodifiableSet(new HashSet<>(optional)));
    }

    static Set<String> keys(String... k) {
        return new HashSet<>(Arrays.asList(k));
    }

    /**
     * Reads one nhkit JSON file the way every core reader does: strict syntax (a UTF-8 BOM
     * skipped, a repeated key or NaN an error naming its field, a short file {@code truncated}),
     * then the format id and version, then this shape. Every error is a {@link Json.JsonException}
     * whose message starts with the field at fault.
     */
    Map<String, Object> readDocument(byte[] json, String format, long version) {
        Object doc;
        try {
            doc = Json.parse(json);
        } catch (Json.JsonException e) {
            throw new Json.JsonException("not valid JSON: " + e.getMessage(), e.field);
        }
        if (!(doc instanceof Map)) {
            throw problem("", "expected a JSON object, got " + Json.typeName(doc));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) doc;
        Object f = m.get("format");
        if (!format.equals(f)) {
            throw problem("format", "is " + (f instanceof String ? FloatHex.quote((String) f)
                    : Json.typeName(f)) + ", expected \"" + format + "\"");
        }
        Object v = m.get("format_version");
        if (!(v instanceof Long)) {
            throw problem("format_version", "expected the integer " + version + ", got "
                    + Json.typeName(v) + (v instanceof String ? " " + FloatHex.quote((String) v) : ""));
        }
        if ((Long) v != version) {
            throw problem("format_version", v + " is not supported (this reader knows version "
                    + version + ")");
        }
        check(m);
        return m;
    }

    JsonShape orNull() {
        return new JsonShape(kind, true, item, fields, optional);
    }

    /**
     * Throws a {@link Json.JsonException} naming the first field (keys in sorted order) that is
     * missing, unknown or of the wrong JSON type; its {@code field} is that path.
     */
    void check(Object value) {
        check(value, "");
    }

    private static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    private static Json.JsonException problem(String field, String reason) {
        return new Json.JsonException((field.isEmpty() ? "(top level)" : field) + ": " + reason, field);
    }

    private void check(Object v, String path) {
        if (kind == Kind.ANY || (v == null && nullable)) {
            return;
        }
        switch (kind) {
            case STRING:
                if (v instanceof String) {
                    return;
                }
                break;
            case BOOLEAN:
                if (v instanceof Boolean) {
                    return;
                }
                break;
            case INTEGER:
                if (v instanceof Long || v instanceof BigInteger) {
                    return;
                }
                break;
            case NUMBER:
                if (v instanceof Long || v instanceof BigInteger || v instanceof Double) {
                    return;
                }
                break;
            case ARRAY:
                if (v instanceof List) {
                    List<?> list = (List<?>) v;
                    for (int i = 0; i < list.size(); i++) {
                        item.check(list.get(i), path + "[" + i + "]");
                    }
                    return;
                }
                break;
            case MAP:
                if (v instanceof Map) {
                    for (Map.Entry<?, ?> e : new TreeMap<>((Map<?, ?>) v).entrySet()) {
                        item.check(e.getValue(), join(path, (String) e.getKey()));
                    }
                    return;
                }
                break;
            case OBJECT:
                if (v instanceof Map) {
                    Map<?, ?> m = (Map<?, ?>) v;
                    for (String k : fields.keySet()) {
                        if (!m.containsKey(k) && !optional.contains(k)) {
                            throw problem(join(path, k), "missing (required field)");
                        }
                    }
                    Set<String> present = new TreeSet<>();
                    for (Object k : m.keySet()) {
                        present.add((String) k);
                    }
                    for (String k : present) {
                        if (!fields.containsKey(k)) {
                            throw problem(join(path, k), "unknown field");
                        }
                    }
                    for (String k : present) {
                        fields.get(k).check(m.get(k), join(path, k));
                    }
                    return;
                }
                break;
            default:
                break;
        }
        throw problem(path, "expected " + name() + ", got " + Json.typeName(v)
                + (v instanceof Number || v instanceof Boolean ? " " + v : ""));
    }

    private String name() {
        String n;
        switch (kind) {
            case STRING: n = "a string"; break;
            case INTEGER: n = "an integer"; break;
            case NUMBER: n = "a number"; break;
            case BOOLEAN: n = "a boolean"; break;
            case ARRAY: n = "an array"; break;
            default: n = "an object"; break;
        }
        return nullable ? n + " or null" : n;
    }
}
