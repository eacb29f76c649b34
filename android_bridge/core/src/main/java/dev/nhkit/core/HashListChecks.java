package dev.nhkit.core;

import java.math.BigInteger;
import java.util.List;
import java.util.Map;

/**
 * Typed access to parsed hash-list JSON that fails with a {@link HashListException} naming the
 * file and the field (the generic {@link Json} getters throw unchecked exceptions instead).
 */
final class HashListChecks {
    private HashListChecks() {}

    /** Every key in {@code required} present, nothing outside {@code required + optional}. */
    static void keys(Map<String, Object> m, String src, String prefix, String[] required,
            String[] optional) throws HashListException {
        for (String k : required) {
            if (!m.containsKey(k)) {
                throw new HashListException(src, prefix + k, "is missing");
            }
        }
        outer:
        for (String k : m.keySet()) {
            for (String r : required) {
                if (r.equals(k)) {
                    continue outer;
                }
            }
            for (String o : optional) {
                if (o.equals(k)) {
                    continue outer;
                }
            }
            throw new HashListException(src, prefix + k, "is not a field of this object (unknown key "
                    + FloatHex.quote(k) + ")");
        }
    }

    static Object get(Map<String, Object> m, String key, String src, String field)
            throws HashListException {
        if (!m.containsKey(key)) {
            throw new HashListException(src, field, "is missing");
        }
        return m.get(key);
    }

    static String string(Map<String, Object> m, String key, String src, String field)
            throws HashListException {
        Object v = get(m, key, src, field);
        if (!(v instanceof String)) {
            throw new HashListException(src, field, "must be a string, got " + Json.typeName(v));
        }
        return (String) v;
    }

    static long integer(Map<String, Object> m, String key, String src, String field)
            throws HashListException {
        Object v = get(m, key, src, field);
        if (v instanceof BigInteger) {
            throw new HashListException(src, field, v + " is out of range");
        }
        if (!(v instanceof Long)) {
            throw new HashListException(src, field, "must be an integer, got " + Json.typeName(v));
        }
        return (Long) v;
    }

    static long range(Map<String, Object> m, String key, String src, String field, long min, long max)
            throws HashListException {
        long v = integer(m, key, src, field);
        if (v < min || v > max) {
            throw new HashListException(src, field, v + " is outside " + min + ".." + max);
        }
        return v;
    }

    static double number(Map<String, Object> m, String key, String src, String field)
            throws HashListException {
        Object v = get(m, key, src, field);
        if (!(v instanceof Number)) {
            throw new HashListException(src, field, "must be a number, got " + Json.typeName(v));
        }
        return ((Number) v).doubleValue();
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Map<String, Object> m, String key, String src, String field)
            throws HashListException {
        Object v = get(m, key, src, field);
        if (!(v instanceof Map)) {
            throw new HashListException(src, field, "must be an object, got " + Json.typeName(v));
        }
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Map<String, Object> m, String key, String src, String field)
            throws HashListException {
        Object v = get(m, key, src, field);
        if (!(v instanceof List)) {
            throw new HashListException(src, field, "must be an array, got " + Json.typeName(v));
        }
        return (List<Object>) v;
    }

    static String hex64(Map<String, Object> m, String key, String src, String field)
            throws HashListException {
        String s = string(m, key, src, field);
        if (!Hex.isLowerHex(s, 64)) {
            throw new HashListException(src, field, FloatHex.quote(s) + " is not 64 lowercase hex digits");
        }
        return s;
    }

    /** Length in code points (as Python's {@code len} and JSON Schema count) within min..max. */
    static void chars(String s, int min, int max, String src, String field) throws HashListException {
        int n = s.codePointCount(0, s.length());
        if (n < min || n > max) {
            throw new HashListException(src, field, "has " + n + " characters, must have " + min + ".."
                    + max);
        }
    }

    /** {@code [A-Za-z0-9._-]{1,128}}, not {@code .} or {@code ..}. */
    static boolean isListId(String s) {
        if (s.isEmpty() || s.length() > 128 || s.equals(".") || s.equals("..")) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-')) {
                return false;
            }
        }
        return true;
    }

    /**
     * A JSON parse error as a HashListException: a repeated key is named by its field path (as
     * the Python reader names it), anything else by the file.
     */
    static HashListException jsonError(String src, String fileField, String where, String text,
            Json.JsonException e) {
        String dup = e.getMessage() != null && e.getMessage().contains("duplicate key \"")
                ? e.field : null;   // Json names the field path of a repeated key
        if (dup != null && !dup.isEmpty()) {
            return new HashListException(src, dup, where + "key appears twice in the same object ("
                    + e.getMessage() + ")", e);
        }
        return new HashListException(src, fileField, where + "not valid JSON: " + e.getMessage(), e);
    }

    /** Unsigned comparison of two 64-bit words (Long.compareUnsigned is missing on Android 24). */
    static int compareUnsigned(long a, long b) {
        return Long.compare(a ^ Long.MIN_VALUE, b ^ Long.MIN_VALUE);
    }
}
