package dev.nhkit.core;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small strict JSON (RFC 8259) reader and writer, so the core has no outside dependencies.
 *
 * <p>Values map to Java as: object -> {@code LinkedHashMap<String, Object>} (key order kept;
 * duplicate keys are an error), array -> {@code ArrayList<Object>}, string -> {@code String},
 * number -> {@code Long} for an integer literal that fits (else {@code BigInteger}) or
 * {@code Double} for a literal with a fraction or exponent (parsed with correct rounding, like
 * Python's {@code float()}), {@code true/false} -> {@code Boolean}, {@code null} -> {@code null}.
 *
 * <p>The writer emits what Python's {@code json.dumps(obj, indent=2)} emits for the same
 * structure (ASCII only, two-space indent, {@code ", "}-free separators at line ends), except that
 * doubles are printed by {@link Double#toString(double)}, which reads back to the same double.
 *
 * <p>Public only because the JVM module (dev.nhkit.jvm: its benchmark's JSON output and its
 * tests' manifest edits) uses it; apps read bundles, reports and hash lists through their
 * classes, not through this one.
 */
public final class Json {
    /** Deepest nesting the reader accepts (guards the recursive descent against hostile files). */
    public static final int MAX_DEPTH = 200;

    private Json() {}

    /**
     * A malformed document or a value of the wrong type; the message says where and what. A
     * syntax error names the field path of the value being read ({@code inputs[0].shape}, as
     * Python's {@code jsonfile.field_path} and Swift write it), then line and column; a document
     * that ends early says {@code truncated}.
     */
    public static final class JsonException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;
        /** The field path of a syntax error ("" at the top level or for a type error). */
        public final String field;

        public JsonException(String message) {
            this(message, "");
        }

        JsonException(String message, String field) {
            super(message);
            this.field = field;
        }
    }

    // ------------------------------------------------------------------------------------ read

    /**
     * Parses a UTF-8 file's bytes (strictly decoded). A leading UTF-8 byte-order mark is skipped:
     * the policy of every nhkit reader in every language (tests/vectors/README.md), since some
     * Windows and Java writers add one. {@link #parse(String)} takes text and rejects one.
     */
    public static Object parse(byte[] utf8) {
        if (utf8.length >= 3 && (utf8[0] & 0xff) == 0xEF && (utf8[1] & 0xff) == 0xBB
                && (utf8[2] & 0xff) == 0xBF) {
            utf8 = java.util.Arrays.copyOfRange(utf8, 3, utf8.length);
        }
        CharsetDecoder dec = Charset.forName("UTF-8").newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CharBuffer chars;
        try {
            chars = dec.decode(ByteBuffer.wrap(utf8));
        } catch (CharacterCodingException e) {
            throw new JsonException("not valid UTF-8: " + e.getMessage());
        }
        return parse(chars.toString());
    }

    public static Object parse(String text) {
        if (text.length() > 0 && text.charAt(0) == '\uFEFF') {
            throw new JsonException("unexpected byte-order mark at the start of the document");
        }
        Reader r = new Reader(text);
        r.skipWs();
        Object v = r.value(0);
        r.skipWs();
        if (r.pos != text.length()) {
            throw r.error("unexpected data after the JSON value");
        }
        return v;
    }

    private static final class Reader {
        final String s;
        int pos;
        /** Keys and {@code [i]} indices from the root to the value being read. */
        final List<String> path = new ArrayList<>();

        Reader(String s) {
            this.s = s;
        }

        JsonException error(String what) {
            int line = 1;
            int col = 1;
            for (int i = 0; i < pos && i < s.length(); i++) {
                if (s.charAt(i) == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            String field = fieldPath(path);
            String end = pos >= s.length() ? "; truncated: the document ends before the JSON is complete"
                    : "";
            return new JsonException((field.isEmpty() ? "" : field + ": ") + what + " at line " + line
                    + ", column " + col + end, field);
        }

        void skipWs() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    break;
                }
            }
        }

        Object value(int depth) {
            if (depth > MAX_DEPTH) {
                throw error("nesting deeper than " + MAX_DEPTH);
            }
            if (pos >= s.length()) {
                throw error("unexpected end of input");
            }
            char c = s.charAt(pos);
            switch (c) {
                case '{':
                    return object(depth);
                case '[':
                    return array(depth);
                case '"':
                    return string();
                case 't':
                    literal("true");
                    return Boolean.TRUE;
                case 'f':
                    literal("false");
                    return Boolean.FALSE;
                case 'n':
                    literal("null");
                    return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        return number();
                    }
                    throw error("unexpected character '" + printable(c) + "'");
            }
        }

        void literal(String word) {
            if (!s.startsWith(word, pos)) {
                throw error("invalid literal (expected " + word + ")");
            }
            pos += word.length();
        }

        Map<String, Object> object(int depth) {
            pos++; // {
            Map<String, Object> m = new LinkedHashMap<>();
            skipWs();
            if (pos < s.length() && s.charAt(pos) == '}') {
                pos++;
                return m;
            }
            while (true) {
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != '"') {
                    throw error("expected a string key");
                }
                int keyPos = pos;
                String key = string();
                if (m.containsKey(key)) {
                    pos = keyPos;
                    path.add(key);
                    throw error("duplicate key \"" + key + "\"");
                }
                skipWs();
                if (pos >= s.length() || s.charAt(pos) != ':') {
                    throw error("expected ':' after a key");
                }
                pos++;
                skipWs();
                path.add(key);
                m.put(key, value(depth + 1));
                path.remove(path.size() - 1);
                skipWs();
                if (pos >= s.length()) {
                    throw error("unterminated object");
                }
                char c = s.charAt(pos++);
                if (c == '}') {
                    return m;
                }
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or '}' in an object");
                }
            }
        }

        List<Object> array(int depth) {
            pos++; // [
            List<Object> list = new ArrayList<>();
            skipWs();
            if (pos < s.length() && s.charAt(pos) == ']') {
                pos++;
                return list;
            }
            while (true) {
                skipWs();
                path.add("[" + list.size() + "]");
                list.add(value(depth + 1));
                path.remove(path.size() - 1);
                skipWs();
                if (pos >= s.length()) {
                    throw error("unterminated array");
                }
                char c = s.charAt(pos++);
                if (c == ']') {
                    return list;
                }
                if (c != ',') {
                    pos--;
                    throw error("expected ',' or ']' in an array");
                }
            }
        }

        String string() {
            pos++; // opening quote
            StringBuilder sb = null;
            int start = pos;
            while (true) {
                if (pos >= s.length()) {
                    throw error("unterminated string");
                }
                char c = s.charAt(pos);
                if (c == '"') {
                    String out = sb == null ? s.substring(start, pos)
                            : sb.append(s, start, pos).toString();
                    pos++;
                    return out;
                }
                if (c < 0x20) {
                    throw error("control character U+" + String.format("%04X", (int) c)
                            + " in a string (must be escaped)");
                }
                if (c != '\\') {
                    pos++;
                    continue;
                }
                if (sb == null) {
                    sb = new StringBuilder();
                }
                sb.append(s, start, pos);
                pos++;
                if (pos >= s.length()) {
                    throw error("unterminated escape");
                }
                char e = s.charAt(pos++);
                switch (e) {
                    case '"': sb.append('"'); break;
                    case '\\': sb.append('\\'); break;
                    case '/': sb.append('/'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'n': sb.append('\n'); break;
                    case 'r': sb.append('\r'); break;
                    case 't': sb.append('\t'); break;
                    case 'u': {
                        if (pos + 4 > s.length()) {
                            throw error("truncated \\u escape");
                        }
                        int cp = 0;
                        for (int i = 0; i < 4; i++) {
                            char h = s.charAt(pos + i);
                            int d = Character.digit(h, 16);
                            if (d < 0 || h > 'f') {
                                throw error("invalid \\u escape");
                            }
                            cp = (cp << 4) | d;
                        }
                        pos += 4;
                        sb.append((char) cp);
                        break;
                    }
                    default:
                        pos--;
                        throw error("invalid escape '\\" + printable(e) + "'");
                }
                start = pos;
            }
        }

        Object number() {
            int start = pos;
            if (s.charAt(pos) == '-') {
                pos++;
            }
            if (pos >= s.length()) {
                throw error("invalid number");
            }
            char c = s.charAt(pos);
            if (c == '0') {
                pos++;
            } else if (c >= '1' && c <= '9') {
                while (pos < s.length() && isDigit(s.charAt(pos))) {
                    pos++;
                }
            } else {
                throw error("invalid number");
            }
            boolean integral = true;
            if (pos < s.length() && s.charAt(pos) == '.') {
                integral = false;
                pos++;
                int digits = pos;
                while (pos < s.length() && isDigit(s.charAt(pos))) {
                    pos++;
                }
                if (pos == digits) {
                    throw error("invalid number (no digits after '.')");
                }
            }
            if (pos < s.length() && (s.charAt(pos) == 'e' || s.charAt(pos) == 'E')) {
                integral = false;
                pos++;
                if (pos < s.length() && (s.charAt(pos) == '+' || s.charAt(pos) == '-')) {
                    pos++;
                }
                int digits = pos;
                while (pos < s.length() && isDigit(s.charAt(pos))) {
                    pos++;
                }
                if (pos == digits) {
                    throw error("invalid number (no digits in the exponent)");
                }
            }
            String lit = s.substring(start, pos);
            if (integral) {
                BigInteger bi = new BigInteger(lit);
                if (bi.bitLength() < 64) {
                    return bi.longValue();
                }
                return bi;
            }
            double d = Double.parseDouble(lit);
            if (Double.isInfinite(d)) {
                throw error("number out of range for a double: " + lit);
            }
            return d;
        }

        static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        static String printable(char c) {
            return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
        }
    }

    /** {@code ["inputs", "[0]", "shape"]} -> {@code inputs[0].shape}. */
    static String fieldPath(List<String> parts) {
        StringBuilder sb = new StringBuilder();
        for (String p : parts) {
            if (!p.startsWith("[") && sb.length() > 0) {
                sb.append('.');
            }
            sb.append(p);
        }
        return sb.toString();
    }

    // ----------------------------------------------------------------------------------- write

    /** Pretty-printed with a two-space indent and a trailing newline. */
    public static String writePretty(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0, true);
        sb.append('\n');
        return sb.toString();
    }

    /** Compact: no whitespace at all. */
    public static String writeCompact(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0, false);
        return sb.toString();
    }

    private static void newline(StringBuilder sb, int indent) {
        sb.append('\n');
        for (int i = 0; i < indent; i++) {
            sb.append("  ");
        }
    }

    private static void write(StringBuilder sb, Object v, int indent, boolean pretty) {
        if (v == null) {
            sb.append("null");
        } else if (v instanceof String) {
            writeString(sb, (String) v);
        } else if (v instanceof Boolean) {
            sb.append(((Boolean) v).booleanValue() ? "true" : "false");
        } else if (v instanceof Double || v instanceof Float) {
            double d = ((Number) v).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                throw new JsonException("JSON cannot represent " + d
                        + " (use a hex bit pattern, see FloatHex)");
            }
            sb.append(Double.toString(d));
        } else if (v instanceof Long || v instanceof Integer || v instanceof Short
                || v instanceof Byte || v instanceof BigInteger) {
            sb.append(v.toString());
        } else if (v instanceof BigDecimal) {
            sb.append(((BigDecimal) v).toString());
        } else if (v instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) v;
            if (m.isEmpty()) {
                sb.append("{}");
                return;
            }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String)) {
                    throw new JsonException("object keys must be strings, got " + e.getKey());
                }
                if (!first) {
                    sb.append(',');
                }
                first = false;
                if (pretty) {
                    newline(sb, indent + 1);
                }
                writeString(sb, (String) e.getKey());
                sb.append(pretty ? ": " : ":");
                write(sb, e.getValue(), indent + 1, pretty);
            }
            if (pretty) {
                newline(sb, indent);
            }
            sb.append('}');
        } else if (v instanceof List) {
            List<?> list = (List<?>) v;
            if (list.isEmpty()) {
                sb.append("[]");
                return;
            }
            sb.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                if (pretty) {
                    newline(sb, indent + 1);
                }
                write(sb, list.get(i), indent + 1, pretty);
            }
            if (pretty) {
                newline(sb, indent);
            }
            sb.append(']');
        } else if (v instanceof Object[]) {
            List<Object> list = new ArrayList<>();
            for (Object o : (Object[]) v) {
                list.add(o);
            }
            write(sb, list, indent, pretty);
        } else {
            throw new JsonException("cannot write a " + v.getClass().getName() + " as JSON");
        }
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /** Like Python's {@code json.dumps} with {@code ensure_ascii=True}. */
    static void writeString(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                default:
                    if (c < 0x20 || c > 0x7e) {
                        sb.append("\\u").append(HEX[(c >> 12) & 0xf]).append(HEX[(c >> 8) & 0xf])
                                .append(HEX[(c >> 4) & 0xf]).append(HEX[c & 0xf]);
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    // --------------------------------------------------------------------- typed access helpers

    @SuppressWarnings("unchecked")
    public static Map<String, Object> asObject(Object v, String what) {
        if (!(v instanceof Map)) {
            throw new JsonException(what + ": expected an object, got " + typeName(v));
        }
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    public static List<Object> asList(Object v, String what) {
        if (!(v instanceof List)) {
            throw new JsonException(what + ": expected an array, got " + typeName(v));
        }
        return (List<Object>) v;
    }

    public static String asString(Object v, String what) {
        if (!(v instanceof String)) {
            throw new JsonException(what + ": expected a string, got " + typeName(v));
        }
        return (String) v;
    }

    public static long asLong(Object v, String what) {
        if (!(v instanceof Long)) {
            throw new JsonException(what + ": expected an integer, got " + typeName(v)
                    + (v instanceof Number ? " " + v : ""));
        }
        return (Long) v;
    }

    public static int asInt(Object v, String what) {
        long l = asLong(v, what);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new JsonException(what + ": integer " + l + " out of range");
        }
        return (int) l;
    }

    /** Any JSON number as a double (integers converted exactly where possible). */
    public static double asDouble(Object v, String what) {
        if (v instanceof Double || v instanceof Long || v instanceof BigInteger) {
            return ((Number) v).doubleValue();
        }
        throw new JsonException(what + ": expected a number, got " + typeName(v));
    }

    public static boolean asBoolean(Object v, String what) {
        if (!(v instanceof Boolean)) {
            throw new JsonException(what + ": expected true or false, got " + typeName(v));
        }
        return (Boolean) v;
    }

    static Object require(Map<String, Object> m, String key, String what) {
        if (!m.containsKey(key)) {
            throw new JsonException(what + ": missing");
        }
        return m.get(key);
    }

    public static Map<String, Object> getObject(Map<String, Object> m, String key, String what) {
        return asObject(require(m, key, what), what);
    }

    public static List<Object> getList(Map<String, Object> m, String key, String what) {
        return asList(require(m, key, what), what);
    }

    public static String getString(Map<String, Object> m, String key, String what) {
        return asString(require(m, key, what), what);
    }

    public static long getLong(Map<String, Object> m, String key, String what) {
        return asLong(require(m, key, what), what);
    }

    public static int getInt(Map<String, Object> m, String key, String what) {
        return asInt(require(m, key, what), what);
    }

    public static double getDouble(Map<String, Object> m, String key, String what) {
        return asDouble(require(m, key, what), what);
    }

    public static boolean getBoolean(Map<String, Object> m, String key, String what) {
        return asBoolean(require(m, key, what), what);
    }

    public static String optString(Map<String, Object> m, String key, String what, String dflt) {
        return m.containsKey(key) ? asString(m.get(key), what) : dflt;
    }

    /** A list of strings (e.g. hex bit patterns). */
    public static List<String> getStringList(Map<String, Object> m, String key, String what) {
        List<Object> raw = getList(m, key, what);
        List<String> out = new ArrayList<>(raw.size());
        for (int i = 0; i < raw.size(); i++) {
            out.add(asString(raw.get(i), what + "[" + i + "]"));
        }
        return out;
    }

    static String typeName(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Map) {
            return "an object";
        }
        if (v instanceof List) {
            return "an array";
        }
        if (v instanceof String) {
            return "a string";
        }
        if (v instanceof Boolean) {
            return "a boolean";
        }
        if (v instanceof Long || v instanceof BigInteger) {
            return "an integer";
        }
        if (v instanceof Double) {
            return "a number";
        }
        return v.getClass().getSimpleName();
    }
}
