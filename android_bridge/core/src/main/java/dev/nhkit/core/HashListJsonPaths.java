package dev.nhkit.core;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where a JSON document repeats a key, as a field path ({@code counts.hashes},
 * {@code files[1].path}, {@code id}), so a hash-list error names the field the way the Python
 * reader does. {@link Json} rejects duplicate keys but reports only the key and the position;
 * this scan runs only after it did.
 */
final class HashListJsonPaths {
    private HashListJsonPaths() {}

    /** One open object (its keys so far) or array (its next index). */
    private static final class Frame {
        final boolean object;
        final Set<String> keys = new HashSet<>();
        String key;
        int index = -1;

        Frame(boolean object) {
            this.object = object;
        }
    }

    /** The path of the first repeated key in {@code text}, or {@code null} when none is found. */
    static String firstDuplicate(String text) {
        List<Frame> stack = new ArrayList<>();
        int i = 0;
        boolean expectKey = false;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (c == '{') {
                stack.add(new Frame(true));
                expectKey = true;
                i++;
            } else if (c == '[') {
                Frame f = new Frame(false);
                f.index = 0;
                stack.add(f);
                i++;
            } else if (c == '}' || c == ']') {
                if (!stack.isEmpty()) {
                    stack.remove(stack.size() - 1);
                }
                i++;
            } else if (c == ',') {
                Frame top = stack.isEmpty() ? null : stack.get(stack.size() - 1);
                if (top != null && top.object) {
                    expectKey = true;
                } else if (top != null) {
                    top.index++;
                }
                i++;
            } else if (c == '"') {
                StringBuilder sb = new StringBuilder();
                i = string(text, i + 1, sb);
                Frame top = stack.isEmpty() ? null : stack.get(stack.size() - 1);
                if (expectKey && top != null && top.object) {
                    String key = sb.toString();
                    if (!top.keys.add(key)) {
                        return path(stack, key);
                    }
                    top.key = key;
                    expectKey = false;
                }
            } else {
                i++;
            }
        }
        return null;
    }

    /** Reads a string body from {@code i} (after the quote) into {@code sb}; returns the index after the closing quote. */
    private static int string(String s, int i, StringBuilder sb) {
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c == '"') {
                return i + 1;
            }
            if (c == '\\' && i + 1 < s.length()) {
                char e = s.charAt(i + 1);
                if (e == 'u' && i + 5 < s.length()) {
                    try {
                        sb.append((char) Integer.parseInt(s.substring(i + 2, i + 6), 16));
                    } catch (NumberFormatException ex) {
                        sb.append('?');
                    }
                    i += 6;
                    continue;
                }
                switch (e) {
                    case 'n': sb.append('\n'); break;
                    case 't': sb.append('\t'); break;
                    case 'r': sb.append('\r'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    default: sb.append(e);
                }
                i += 2;
                continue;
            }
            sb.append(c);
            i++;
        }
        return i;
    }

    /** Python's jsonfile.field_path: keys joined by dots, array indices as {@code [i]}. */
    private static String path(List<Frame> stack, String last) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < stack.size() - 1; k++) {
            Frame f = stack.get(k);
            if (f.object) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(f.key);
            } else {
                sb.append('[').append(f.index).append(']');
            }
        }
        if (sb.length() > 0) {
            sb.append('.');
        }
        return sb.append(last).toString();
    }
}
