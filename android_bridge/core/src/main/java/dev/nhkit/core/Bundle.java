package dev.nhkit.core;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A verified nhkit bundle: the manifest is parsed, every file it lists has been checked for size
 * and sha256 (docs/bundle-format.md: "A reader MUST verify size and sha256 of each before use"),
 * the seed is loaded and matches {@code seed.sha256}, and the self-test cases (if the bundle has
 * any) are parsed.
 */
public final class Bundle {
    /** Largest manifest / cases.json accepted (they are a few hundred kB at most). */
    static final long MAX_JSON_BYTES = 64L * 1024 * 1024;

    private final BundleFiles files;
    private final BundleManifest manifest;
    private final String manifestSha256;
    private final Seed seed;
    private final List<SelfTestCase> cases;
    private final List<DecodeCase> decodeCases;

    private Bundle(BundleFiles files, BundleManifest manifest, String manifestSha256, Seed seed,
            List<SelfTestCase> cases, List<DecodeCase> decodeCases) {
        this.files = files;
        this.manifest = manifest;
        this.manifestSha256 = manifestSha256;
        this.seed = seed;
        this.cases = cases;
        this.decodeCases = decodeCases;
    }

    /**
     * Opens and verifies a bundle.
     *
     * @throws NhkitException.BundleException naming the offending file: unreadable, malformed,
     *     wrong size or sha256, seed mismatch
     */
    public static Bundle open(BundleFiles files) throws NhkitException {
        String manifestName = files.describe("manifest.json");
        byte[] manifestBytes = read(files, "manifest.json", MAX_JSON_BYTES);
        BundleManifest manifest;
        try {
            manifest = BundleManifest.parse(manifestBytes, manifestName);
        } catch (IllegalArgumentException e) {
            throw new NhkitException.BundleException(manifestName, stripSource(e.getMessage(),
                    manifestName), e);
        }
        verifyChecksums(files, manifest);

        byte[] seedBytes = read(files, manifest.seedFile, Seed.DAT_BYTES + 1L);
        String seedSha = Digests.sha256Hex(seedBytes);
        Seed seed = Seed.parse(seedBytes, files.describe(manifest.seedFile));
        if (!seedSha.equals(manifest.seedSha256) && !seed.sha256Hex().equals(manifest.seedSha256)) {
            throw new NhkitException.BundleException(files.describe(manifest.seedFile),
                    "seed sha256 " + seedSha + " does not match the manifest's seed.sha256 "
                            + manifest.seedSha256);
        }

        List<SelfTestCase> cases = Collections.emptyList();
        List<DecodeCase> decodeCases = Collections.emptyList();
        String casesFile = manifest.selfTestFile;
        if (casesFile != null && manifest.selfTestArchive != null) {
            // Shipped separately (<bundle_id>.selftest.zip): used only when unpacked into the
            // bundle, and then verified like the bundle's own files; absent means no cases.
            if (selfTestPresent(files, casesFile)) {
                verifyEntries(files, manifest.selfTestFiles);
            } else {
                casesFile = null;
            }
        }
        if (casesFile != null) {
            String name = files.describe(casesFile);
            if (!manifest.lists(casesFile) && !manifest.listsSelfTestFile(casesFile)) {
                throw new NhkitException.BundleException(name, "the manifest's self-test file is not "
                        + "in \"files\", so it cannot be verified");
            }
            try {
                byte[] casesJson = read(files, casesFile, MAX_JSON_BYTES);
                cases = SelfTestCase.parseAll(casesJson, manifest.bundleId, name, casesFile);
                List<String> ids = new ArrayList<>();
                for (SelfTestCase c : cases) {
                    ids.add(c.id);
                }
                decodeCases = DecodeCase.parseAll(casesJson, name, casesFile, ids);
            } catch (IllegalArgumentException e) {
                throw new NhkitException.BundleException(name, stripSource(e.getMessage(), name), e);
            }
            if (manifest.selfTestCount >= 0 && manifest.selfTestCount != cases.size()) {
                throw new NhkitException.BundleException(name, "has " + cases.size()
                        + " cases, the manifest's selftest.cases says " + manifest.selfTestCount);
            }
            for (SelfTestCase c : cases) {
                requireListed(files, manifest, c.sourcePath(), c.id);
                if (c.rgb360Path() != null) {
                    requireListed(files, manifest, c.rgb360Path(), c.id);
                    checkRgb360(files, c);
                }
            }
            for (DecodeCase d : decodeCases) {
                requireListed(files, manifest, d.sourcePath(), d.id);
            }
        }
        return new Bundle(files, manifest, Digests.sha256Hex(manifestBytes), seed, cases,
                decodeCases);
    }

    /** A case's 360x360 bytes must hash to its resized digest and normalise to its tensor digest. */
    private static void checkRgb360(BundleFiles files, SelfTestCase c)
            throws NhkitException.BundleException {
        String name = files.describe(c.rgb360Path());
        byte[] rgb = read(files, c.rgb360Path(), 360L * 360 * 3 + 1);
        if (rgb.length != Spec.SIZE * Spec.SIZE * 3) {
            throw new NhkitException.BundleException(name, "has " + rgb.length + " bytes, expected "
                    + (Spec.SIZE * Spec.SIZE * 3) + " (360x360 RGB8)");
        }
        RgbImage img = new RgbImage(Spec.SIZE, Spec.SIZE, rgb);
        if (!img.sha256Hex().equals(c.resizedSha256)) {
            throw new NhkitException.BundleException(name, "sha256 does not match case \"" + c.id
                    + "\" digests.resized");
        }
        if (!Normalise.tensorDigest(img).equals(c.tensorSha256)) {
            throw new NhkitException.BundleException(name, "normalised tensor does not match case \""
                    + c.id + "\" digests.tensor");
        }
    }

    private static void requireListed(BundleFiles files, BundleManifest m, String path, String id)
            throws NhkitException.BundleException {
        if (!m.lists(path) && !m.listsSelfTestFile(path)) {
            throw new NhkitException.BundleException(files.describe(path), "self-test case \"" + id
                    + "\" uses a file the manifest does not list, so it cannot be verified");
        }
    }

    /**
     * Rejects files the manifest does not list, then streams every listed file through SHA-256
     * and compares size and digest.
     *
     * @throws NhkitException.BundleException for the first file that is unlisted, missing or
     *     differs
     */
    public static void verifyChecksums(BundleFiles files, BundleManifest manifest)
            throws NhkitException.BundleException {
        List<String> present;
        try {
            present = files.listFiles();
        } catch (IOException e) {
            throw new NhkitException.BundleException(files.describe("manifest.json"),
                    "cannot list the bundle's files: " + e.getMessage(), e);
        }
        for (String p : present) {
            if (!p.equals("manifest.json") && !manifest.lists(p) && !manifest.listsSelfTestFile(p)) {
                throw new NhkitException.BundleException(files.describe(p), "file is in the bundle "
                        + "but not listed in the manifest's \"files\"");
            }
        }
        verifyEntries(files, manifest.files);
    }

    /** Whether a separately shipped self-test has been unpacked into the bundle. */
    private static boolean selfTestPresent(BundleFiles files, String casesFile)
            throws NhkitException.BundleException {
        try {
            return files.listFiles().contains(casesFile);
        } catch (IOException e) {
            throw new NhkitException.BundleException(files.describe("manifest.json"),
                    "cannot list the bundle's files: " + e.getMessage(), e);
        }
    }

    /** Size and sha256 of each entry, streamed. */
    private static void verifyEntries(BundleFiles files, List<BundleManifest.FileEntry> entries)
            throws NhkitException.BundleException {
        for (BundleManifest.FileEntry e : entries) {
            String name = files.describe(e.path);
            Digests.StreamDigest d;
            try (InputStream in = files.open(e.path)) {
                d = Digests.sha256Hex(in);
            } catch (IOException ex) {
                throw new NhkitException.BundleException(name, "cannot read a file the manifest lists: "
                        + ex.getMessage(), ex);
            }
            if (d.size != e.size) {
                throw new NhkitException.BundleException(name, "size is " + d.size
                        + " bytes, the manifest says " + e.size);
            }
            if (!d.sha256.equals(e.sha256)) {
                throw new NhkitException.BundleException(name, "sha256 is " + d.sha256
                        + ", the manifest says " + e.sha256);
            }
        }
    }

    /** Reads a whole bundle file (at most {@code limit} bytes). */
    public static byte[] read(BundleFiles files, String path, long limit)
            throws NhkitException.BundleException {
        try (InputStream in = files.open(path)) {
            return IoUtil.readAll(in, limit);
        } catch (IOException e) {
            throw new NhkitException.BundleException(files.describe(path), "cannot read: "
                    + e.getMessage(), e);
        }
    }

    private static String stripSource(String message, String source) {
        String prefix = source + ": ";
        return message != null && message.startsWith(prefix) ? message.substring(prefix.length())
                : message;
    }

    public BundleFiles files() {
        return files;
    }

    public BundleManifest manifest() {
        return manifest;
    }

    public String bundleId() {
        return manifest.bundleId;
    }

    public Spec spec() {
        return manifest.spec;
    }

    /** sha256 of the manifest.json bytes, as device reports record it. */
    public String manifestSha256() {
        return manifestSha256;
    }

    public Seed seed() {
        return seed;
    }

    /** Always true for an opened bundle (opening fails otherwise). */
    public boolean checksumsVerified() {
        return true;
    }

    /** The self-test cases, empty if the bundle has none. */
    public List<SelfTestCase> selfTestCases() {
        return cases;
    }

    /** The self-test's mode sampler (decode-only cases), empty if the bundle has none. */
    public List<DecodeCase> decodeCases() {
        return decodeCases;
    }
}
