package dev.nhkit.core;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Every Java core reader under the seeded mutation fuzzer ({@link FuzzMutator}; the same targets
 * as Swift's ios_bridge/Tests/NHCoreTests/Fuzz/FuzzTargets.swift where the reader exists in
 * Java). Each target: seeds (valid files from the repository or a bundle written by
 * {@link BundleTest#writeBundle}), the call, and the documented rejection; any other throwable is
 * a finding. The core has no device-report reader (it writes reports) and inflates with the
 * JDK's {@link java.util.zip.Inflater} (fuzzed through the orientation target's PNG chunks).
 */
final class ReaderFuzzTargets {
    private ReaderFuzzTargets() {}

    interface Reader {
        void run(byte[] input) throws Exception;
    }

    interface Expected {
        boolean test(Throwable t);
    }

    static final class Target {
        final String name;
        final String what;
        final int maxLength;
        final List<byte[]> seeds;
        final Reader run;
        final Expected expected;
        /** Inputs in the suite's short profile (folder targets write files: fewer). */
        final int shortProfile;

        Target(String name, String what, int maxLength, List<byte[]> seeds, Reader run, Expected expected,
                int shortProfile) {
            this.name = name;
            this.what = what;
            this.maxLength = maxLength;
            this.seeds = seeds;
            this.run = run;
            this.expected = expected;
            this.shortProfile = shortProfile;
        }
    }

    static final String[] BUNDLE_ROLES = {"manifest.json", "selftest/cases.json", "seed.f32"};
    static final String[] LIST_ROLES = {"manifest.json", "entries.jsonl", "hashes.bin", "offsets.bin", "fragile.bin"};

    static boolean nhkit(Throwable t) {
        return t instanceof NhkitException;
    }

    static boolean illegalArgument(Throwable t) {
        return t instanceof IllegalArgumentException;
    }

    static byte[] read(File f) throws IOException {
        return Files.readAllBytes(f.toPath());
    }

    static List<File> files(File dir, String... suffixes) {
        List<File> out = new ArrayList<>();
        File[] all = dir.listFiles();
        if (all != null) {
            for (File f : all) {
                for (String s : suffixes) {
                    if (f.getName().endsWith(s)) {
                        out.add(f);
                        break;
                    }
                }
            }
        }
        out.sort((a, b) -> a.getName().compareTo(b.getName()));
        return out;
    }

    /** Every target; {@code scratch} is a private folder the targets write into. */
    static List<Target> all(File scratch) throws Exception {
        File repo = TestSupport.repoRoot();
        File vectors = TestSupport.vectorsDir();
        Files.createDirectories(scratch.toPath());
        List<Target> out = new ArrayList<>();

        List<byte[]> hexSeeds = new ArrayList<>();
        for (String name : new String[] {"hex.json", "hamming.json"}) {
            collectStrings(TestSupport.readJsonObject(new File(vectors, name)), hexSeeds, 64);
        }
        for (String s : new String[] {"3f800000", "7fc00000", "3ff0000000000000", "fff0000000000000"}) {
            hexSeeds.add(s.getBytes(StandardCharsets.UTF_8));
        }
        out.add(new Target("hex", "NeuralHash.fromHex, hamming, Hex.decode, FloatHex.hexToF32/F64", 256, hexSeeds, b -> {
            String text = new String(b, StandardCharsets.UTF_8);
            try {
                Hex.decode(text);
            } catch (IllegalArgumentException e) {
                // documented
            }
            try {
                FloatHex.hexToF32(text, "fuzz");
            } catch (IllegalArgumentException e) {
                // documented
            }
            try {
                FloatHex.hexToF64(text, "fuzz");
            } catch (IllegalArgumentException e) {
                // documented
            }
            int space = text.indexOf(' ');
            if (space >= 0) {
                try {
                    NeuralHash.hamming(text.substring(0, space), text.substring(space + 1));
                } catch (IllegalArgumentException e) {
                    // documented
                }
            }
            NeuralHash.fromHex(text);
        }, ReaderFuzzTargets::illegalArgument, 200));

        List<byte[]> seedFiles = new ArrayList<>();
        for (String n : new String[] {"seed.dat", "seed.f32"}) {
            seedFiles.add(read(new File(repo, "runtime/models/nhkit-mnv3s-v1/" + n)));
        }
        out.add(new Target("seed", "Seed.parse on seed.f32 / NeuralHash .dat files", 65536, seedFiles,
                b -> Seed.parse(b, "fuzz-seed"), ReaderFuzzTargets::nhkit, 200));

        // A valid bundle (BundleTest's writer): its manifest, cases and seed are seeds.
        File base = new File(scratch, "base");
        BundleTest writer = new BundleTest();
        writer.dir = base;
        Files.createDirectories(base.toPath());
        writer.writeBundle(1, 6);
        Map<String, byte[]> bundleFiles = new LinkedHashMap<>();
        for (String role : BUNDLE_ROLES) {
            bundleFiles.put(role, read(new File(base, role)));
        }

        List<Map<String, byte[]>> lists = new ArrayList<>();
        List<Map<String, byte[]>> validLists = new ArrayList<>();
        hashListCases(new File(vectors, "match_lists.json"), lists, validLists);

        List<byte[]> jsonSeeds = new ArrayList<>();
        for (File f : files(new File(vectors, "readers"), ".json")) {
            jsonSeeds.add(read(f));
        }
        for (Map<String, byte[]> l : lists) {
            if (l.containsKey("manifest.json")) {
                jsonSeeds.add(l.get("manifest.json"));
            }
        }
        jsonSeeds.add(bundleFiles.get("manifest.json"));
        jsonSeeds.add(bundleFiles.get("selftest/cases.json"));
        out.add(new Target("json", "Json.parse (strict JSON reader)", 65536, jsonSeeds, Json::parse,
                t -> t instanceof Json.JsonException, 200));

        out.add(new Target("bundle-manifest", "BundleManifest.parse (parse + validate)", 65536,
                Arrays.asList(bundleFiles.get("manifest.json")), b -> BundleManifest.parse(b, "fuzz/manifest.json"),
                ReaderFuzzTargets::illegalArgument, 200));
        out.add(new Target("selftest-cases", "SelfTestCase.parseAll (selftest/cases.json)", 65536,
                Arrays.asList(bundleFiles.get("selftest/cases.json")),
                b -> SelfTestCase.parseAll(b, "test-bundle", "fuzz/cases.json"),
                ReaderFuzzTargets::illegalArgument, 200));

        File work = new File(scratch, "bundle");
        copyTree(base, work);
        List<byte[]> bundleSeeds = new ArrayList<>();
        for (int i = 0; i < BUNDLE_ROLES.length; i++) {
            bundleSeeds.add(framedSeed(i, -1, bundleFiles.get(BUNDLE_ROLES[i])));
        }
        out.add(new Target("bundle-folder", "Bundle.open(DirectoryBundleFiles), one file replaced (re-sealed or not)",
                65536, bundleSeeds, b -> {
                    if (b.length < 1) {
                        return;
                    }
                    String role = BUNDLE_ROLES[(b[0] & 0x7F) % BUNDLE_ROLES.length];
                    byte[] content = Arrays.copyOfRange(b, 1, b.length);
                    Map<String, byte[]> files = new TreeMap<>();
                    files.put(role, content);
                    if ((b[0] & 0x80) != 0 && !role.equals("manifest.json")) {
                        files.put("manifest.json", resealed(bundleFiles.get("manifest.json"), bundleFiles.get(role), content));
                    }
                    try {
                        for (Map.Entry<String, byte[]> e : files.entrySet()) {
                            Files.write(new File(work, e.getKey()).toPath(), e.getValue());
                        }
                        Bundle.open(new DirectoryBundleFiles(work));
                    } finally {
                        for (String r : files.keySet()) {
                            Files.write(new File(work, r).toPath(), bundleFiles.get(r));
                        }
                    }
                }, ReaderFuzzTargets::nhkit, 40));

        List<byte[]> listManifests = new ArrayList<>();
        for (Map<String, byte[]> l : lists) {
            if (l.containsKey("manifest.json")) {
                listManifests.add(l.get("manifest.json"));
            }
        }
        out.add(new Target("hashlist-manifest", "HashListManifest.parse", 65536, listManifests,
                b -> HashListManifest.parse(b, "fuzz/manifest.json"), ReaderFuzzTargets::nhkit, 200));

        List<byte[]> listSeeds = new ArrayList<>();
        for (int k = 0; k < validLists.size(); k++) {
            for (int i = 0; i < LIST_ROLES.length; i++) {
                listSeeds.add(framedSeed(i, k, validLists.get(k).get(LIST_ROLES[i])));
            }
        }
        File listDir = new File(scratch, "vec-list");
        out.add(new Target("hashlist-folder", "HashList.open(folder), one file replaced (re-sealed or not)", 65536,
                listSeeds, b -> {
                    if (b.length < 2 || validLists.isEmpty()) {
                        return;
                    }
                    writeList(listDir, b, validLists);
                    HashList.open(listDir);
                }, ReaderFuzzTargets::nhkit, 60));

        File zipWork = new File(scratch, "zip-src");
        List<byte[]> zipSeeds = new ArrayList<>();
        for (Map<String, byte[]> l : validLists) {
            HashListVectorCases.deleteTree(zipWork);
            File d = new File(zipWork, "vec-list");
            Files.createDirectories(d.toPath());
            for (Map.Entry<String, byte[]> e : l.entrySet()) {
                Files.write(new File(d, e.getKey()).toPath(), e.getValue());
            }
            zipSeeds.add(read(HashListVectorCases.zipOf(d, "vec-list", new File(scratch, "seed.zip"))));
        }
        File zipFile = new File(scratch, "list.zip");
        out.add(new Target("hashlist-zip", "HashList.open(zip) (ZipHashListFiles)", 65536, zipSeeds, b -> {
            Files.write(zipFile.toPath(), b);
            HashList.open(zipFile);
        }, ReaderFuzzTargets::nhkit, 100));

        List<byte[]> fixtures = new ArrayList<>();
        for (File f : files(new File(repo, "tests/decode_fixtures"), ".jpg", ".png")) {
            fixtures.add(read(f));
        }
        out.add(new Target("orientation", "OrientationSource.tag (JPEG APP1 EXIF/XMP, PNG eXIf/tEXt/zTXt/iTXt)", 65536,
                fixtures, b -> {
                    OrientationSource.covers(b);
                    OrientationSource.tag(b);
                }, t -> false, 200));
        return out;
    }

    /** A folder input: [role | 0x80 (re-seal)], [which valid list, for hash lists], content. */
    static byte[] framedSeed(int role, int list, byte[] content) {
        int head = list < 0 ? 1 : 2;
        byte[] out = new byte[head + content.length];
        out[0] = (byte) (role | 0x80);
        if (list >= 0) {
            out[1] = (byte) list;
        }
        System.arraycopy(content, 0, out, head, content.length);
        return out;
    }

    static void writeList(File dir, byte[] b, List<Map<String, byte[]>> validLists) throws IOException {
        String role = LIST_ROLES[(b[0] & 0x7F) % LIST_ROLES.length];
        Map<String, byte[]> base = validLists.get((b[1] & 0xFF) % validLists.size());
        Map<String, byte[]> files = new TreeMap<>(base);
        byte[] content = Arrays.copyOfRange(b, 2, b.length);
        files.put(role, content);
        if ((b[0] & 0x80) != 0 && !role.equals("manifest.json")) {
            files.put("manifest.json", resealed(base.get("manifest.json"), base.get(role), content));
        }
        HashListVectorCases.deleteTree(dir);
        Files.createDirectories(dir.toPath());
        for (Map.Entry<String, byte[]> e : files.entrySet()) {
            Files.write(new File(dir, e.getKey()).toPath(), e.getValue());
        }
    }

    /**
     * The manifest with {@code old}'s sha256 replaced by {@code now}'s, and the "size" that
     * follows it in the same file entry set to {@code now.length}: the tampered file passes the
     * checksum, so the fuzzer reaches the parser behind it.
     */
    static byte[] resealed(byte[] manifest, byte[] old, byte[] now) {
        byte[] oldSha = Digests.sha256Hex(old).getBytes(StandardCharsets.US_ASCII);
        byte[] newSha = Digests.sha256Hex(now).getBytes(StandardCharsets.US_ASCII);
        byte[] sizeKey = "\"size\":".getBytes(StandardCharsets.US_ASCII);
        FuzzMutator.Buf d = new FuzzMutator.Buf(manifest);
        int from = 0;
        int at;
        while ((at = find(oldSha, d, from, d.n)) >= 0) {
            d.replace(at, at + oldSha.length, newSha);
            from = at + newSha.length;
            int s = find(sizeKey, d, from, Math.min(d.n, from + 160));
            boolean closed = false;
            for (int i = from; s >= 0 && i < s; i++) {
                closed |= d.a[i] == '}';
            }
            if (s >= 0 && !closed) {
                int a = s + sizeKey.length;
                while (a < d.n && d.a[a] == ' ') {
                    a++;
                }
                int z = a;
                while (z < d.n && d.a[z] >= '0' && d.a[z] <= '9') {
                    z++;
                }
                d.replace(a, z, Integer.toString(now.length).getBytes(StandardCharsets.US_ASCII));
            }
        }
        return Arrays.copyOf(d.a, d.n);
    }

    private static int find(byte[] needle, FuzzMutator.Buf d, int from, int to) {
        outer:
        for (int i = from; i + needle.length <= to; i++) {
            for (int k = 0; k < needle.length; k++) {
                if (d.a[i + k] != needle[k]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    static void hashListCases(File f, List<Map<String, byte[]>> all, List<Map<String, byte[]>> valid) {
        Map<String, Object> doc = TestSupport.readJsonObject(f);
        for (Object g : Json.getList(doc, "testGroups", f.getName())) {
            for (Object t : Json.getList(Json.asObject(g, "group"), "tests", "group")) {
                Map<String, Object> tc = Json.asObject(t, "test");
                Map<String, Object> files = Json.getObject(Json.getObject(tc, "input", "test"), "files", "input");
                Map<String, byte[]> m = new TreeMap<>();
                for (Map.Entry<String, Object> e : files.entrySet()) {
                    m.put(e.getKey(), Hex.decode(Json.getString(Json.asObject(e.getValue(), "file"), "hex", "file")));
                }
                all.add(m);
                if ("valid".equals(Json.getString(tc, "result", "test")) && m.keySet().containsAll(Arrays.asList(LIST_ROLES))) {
                    valid.add(m);
                }
            }
        }
    }

    static void collectStrings(Object v, List<byte[]> out, int maxLength) {
        if (v instanceof String) {
            byte[] b = ((String) v).getBytes(StandardCharsets.UTF_8);
            if (b.length <= maxLength) {
                out.add(b);
            }
        } else if (v instanceof List) {
            for (Object x : (List<?>) v) {
                collectStrings(x, out, maxLength);
            }
        } else if (v instanceof Map) {
            for (Object x : new TreeMap<>((Map<?, ?>) v).values()) {
                collectStrings(x, out, maxLength);
            }
        }
    }

    static void copyTree(File from, File to) throws IOException {
        if (from.isDirectory()) {
            Files.createDirectories(to.toPath());
            String[] names = from.list();
            Arrays.sort(names);
            for (String n : names) {
                copyTree(new File(from, n), new File(to, n));
            }
        } else {
            Files.write(to.toPath(), read(from));
        }
    }
}
