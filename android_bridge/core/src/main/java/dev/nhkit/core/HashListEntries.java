package dev.nhkit.core;

import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reads and checks entries.jsonl against hashes.bin and offsets.bin (docs/hashlist-format.md). */
final class HashListEntries {
    private HashListEntries() {}

    static List<HashList.Entry> parse(byte[] data, String src, int n, long[] hi, int[] lo,
            int[] offsets) throws HashListException {
        // Capacity from the file's size too: counts.entries is not trusted until the lines agree.
        List<HashList.Entry> out = new ArrayList<>(Math.min(n, data.length / 64 + 1));
        Set<String> ids = new HashSet<>();
        int pos = 0;
        int group = 0;
        int previousGroup = -1;
        byte[] previousId = null;
        while (pos < data.length) {
            int end = pos;
            while (end < data.length && data[end] != '\n') {
                end++;
            }
            int line = out.size();
            String where = "line " + (line + 1) + ": ";
            if (end == data.length) {
                throw new HashListException(src, "entries.jsonl", where + "does not end with a newline");
            }
            if (line >= n) {
                throw new HashListException(src, "entries.jsonl", "has more than counts.entries = "
                        + n + " lines");
            }
            if (end == pos) {
                throw new HashListException(src, "entries.jsonl", where + "is blank");
            }
            if (end - pos > HashList.MAX_LINE_BYTES) {
                throw new HashListException(src, "entries.jsonl", where + (end - pos) + " bytes; a "
                        + "line is at most " + HashList.MAX_LINE_BYTES);
            }
            Object doc;
            String text;
            try {
                text = HashList.utf8(data, pos, end);
            } catch (CharacterCodingException e) {
                throw new HashListException(src, "entries.jsonl", where + "is not valid UTF-8", e);
            }
            try {
                doc = Json.parse(text);
            } catch (Json.JsonException e) {
                throw HashListChecks.jsonError(src, "entries.jsonl", where, text, e);
            }
            if (!(doc instanceof Map)) {
                throw new HashListException(src, "entries.jsonl", where + "must be a JSON object");
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> e = (Map<String, Object>) doc;
            String at = src + " " + where.substring(0, where.length() - 2);
            HashListChecks.keys(e, at, "", new String[] {"id", "hash", "label", "source", "meta"},
                    new String[0]);
            String id = HashListChecks.string(e, "id", at, "id");
            int idChars = id.codePointCount(0, id.length());
            if (idChars < 1 || idChars > HashList.MAX_ID_CHARS) {
                throw new HashListException(at, "id", "has " + idChars + " characters, must have 1.."
                        + HashList.MAX_ID_CHARS);
            }
            if (!ids.add(id)) {
                throw new HashListException(at, "id", "duplicate id " + FloatHex.quote(id));
            }
            String hex = HashListChecks.string(e, "hash", at, "hash");
            if (!Hex.isLowerHex(hex, NeuralHash.HEX_DIGITS)) {
                throw new HashListException(at, "hash", FloatHex.quote(hex) + " is not "
                        + NeuralHash.HEX_DIGITS + " lowercase hex digits");
            }
            while (group + 1 < offsets.length && offsets[group + 1] <= line) {
                group++;
            }
            byte[] idBytes = id.getBytes(StandardCharsets.UTF_8);
            if (group == previousGroup && compareBytes(previousId, idBytes) >= 0) {
                throw new HashListException(at, "id", "entries sharing a hash must be sorted by id "
                        + "(UTF-8 bytes): " + FloatHex.quote(id) + " comes after its predecessor");
            }
            previousGroup = group;
            previousId = idBytes;
            NeuralHash hash = NeuralHash.fromHex(hex);
            NeuralHash groupHash = NeuralHash.fromBytes(wordsToBytes(hi[group], lo[group]));
            if (!hash.equals(groupHash)) {
                throw new HashListException(at, "hash", hex + " differs from its group's hash "
                        + groupHash.toHex() + " in hashes.bin (hash " + group + ")");
            }
            String label = optionalString(e, "label", at, HashList.MAX_LABEL_CHARS);
            String source = optionalString(e, "source", at, HashList.MAX_SOURCE_CHARS);
            Map<String, Object> meta = null;
            Object mv = e.get("meta");
            if (mv != null) {
                if (!(mv instanceof Map)) {
                    throw new HashListException(at, "meta", "must be an object or null, got "
                            + Json.typeName(mv));
                }
                @SuppressWarnings("unchecked")
                Map<String, Object> mm = (Map<String, Object>) mv;
                // No size check here: the writer limits meta to 16 KiB; readers cap the line
                // (docs/hashlist-format.md), which bounds meta too.
                meta = frozen(mm);
            }
            out.add(new HashList.Entry(line, id, hash, label, source, meta));
            pos = end + 1;
        }
        if (out.size() != n) {
            throw new HashListException(src, "entries.jsonl", "has " + out.size()
                    + " lines, counts.entries = " + n);
        }
        return Collections.unmodifiableList(out);
    }

    /** A deep unmodifiable view, so a loaded list stays immutable however apps use {@code meta}. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> frozen(Map<String, Object> m) {
        for (Map.Entry<String, Object> e : m.entrySet()) {
            e.setValue(frozenValue(e.getValue()));
        }
        return Collections.unmodifiableMap(m);
    }

    @SuppressWarnings("unchecked")
    private static Object frozenValue(Object v) {
        if (v instanceof Map) {
            return frozen((Map<String, Object>) v);
        }
        if (v instanceof List) {
            List<Object> l = (List<Object>) v;
            for (int i = 0; i < l.size(); i++) {
                l.set(i, frozenValue(l.get(i)));
            }
            return Collections.unmodifiableList(l);
        }
        return v;
    }

    private static String optionalString(Map<String, Object> e, String key, String at, int maxChars)
            throws HashListException {
        Object v = e.get(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String)) {
            throw new HashListException(at, key, "must be a string or null, got " + Json.typeName(v));
        }
        String s = (String) v;
        int chars = s.codePointCount(0, s.length());
        if (chars > maxChars) {
            throw new HashListException(at, key, "has " + chars + " characters, more than " + maxChars);
        }
        return s;
    }

    /** Unsigned lexicographic byte order (= code point order for UTF-8). */
    static int compareBytes(byte[] a, byte[] b) {
        for (int i = 0; i < Math.min(a.length, b.length); i++) {
            int c = (a[i] & 0xff) - (b[i] & 0xff);
            if (c != 0) {
                return c;
            }
        }
        return a.length - b.length;
    }

    static byte[] wordsToBytes(long hi, int lo) {
        byte[] b = new byte[12];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
        }
        for (int i = 0; i < 4; i++) {
            b[8 + i] = (byte) (lo >>> (24 - 8 * i));
        }
        return b;
    }
}
