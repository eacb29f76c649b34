package dev.nhkit.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * One case of the bundle self-test's mode sampler ({@code decode_cases} in
 * {@code selftest/cases.json}, docs/bundle-format.md): a tiny file in one stored mode, and the
 * reference result of spec steps 1-2 on it (no model run). {@link SelfTest} decodes each with the
 * platform's decoder, and {@code nhkit golden check} names the mode of any that differs.
 */
public final class DecodeCase {
    private final String dir;
    public final String id;
    /** File name inside {@code selftest/}. */
    public final String source;
    /** The stored mode in spec step 1's words, e.g. {@code I;16}, {@code P + tRNS}. */
    public final String mode;
    public final String description;
    public final int orientation;
    /** The oriented size. */
    public final int width;
    public final int height;
    /** sha256 of the oriented RGB8 bytes. */
    public final String decodedSha256;

    private DecodeCase(Map<String, Object> m, String what, String dir) {
        this.dir = dir;
        id = Json.getString(m, "id", what + ".id");
        source = BundleFiles.checkRelativePath(Json.getString(m, "source", what + ".source"));
        mode = Json.getString(m, "mode", what + ".mode");
        description = Json.getString(m, "description", what + ".description");
        orientation = Json.getInt(m, "orientation", what + ".orientation");
        width = Json.getInt(m, "width", what + ".width");
        height = Json.getInt(m, "height", what + ".height");
        decodedSha256 = BundleManifest.lowerHex64(Json.getString(m, "decoded", what + ".decoded"),
                what + ".decoded");
        if (orientation < 1 || orientation > 8 || width < 1 || height < 1) {
            throw new IllegalArgumentException(what + ": orientation must be 1..8 and the size positive");
        }
    }

    public String sourcePath() {
        return dir + source;
    }

    /**
     * The {@code decode_cases} of a cases file at {@code casesPath} inside the bundle (empty when
     * it has none); ids must not repeat each other or any of {@code caseIds}.
     */
    public static List<DecodeCase> parseAll(byte[] json, String source, String casesPath,
            List<String> caseIds) {
        int slash = casesPath.lastIndexOf('/');
        String dir = slash < 0 ? "" : casesPath.substring(0, slash + 1);
        Map<String, Object> m;
        try {
            m = Json.asObject(Json.parse(json), source);
        } catch (Json.JsonException e) {
            throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
        }
        if (!m.containsKey("decode_cases")) {
            return Collections.emptyList();
        }
        List<Object> list = Json.getList(m, "decode_cases", source + ": decode_cases");
        List<DecodeCase> out = new ArrayList<>();
        List<String> ids = new ArrayList<>(caseIds);
        for (int i = 0; i < list.size(); i++) {
            String what = source + ": decode_cases[" + i + "]";
            DecodeCase d = new DecodeCase(Json.asObject(list.get(i), what), what, dir);
            if (ids.contains(d.id)) {
                throw new IllegalArgumentException(what + ": duplicate case id \"" + d.id + "\"");
            }
            ids.add(d.id);
            out.add(d);
        }
        return Collections.unmodifiableList(out);
    }
}
