import Foundation
#if !NHKIT_LIBFUZZER
@testable import NHCore   // in the libFuzzer build this file is compiled into NHCore itself
#endif

/// One NHCore reader under fuzzing: seeds (valid files from the repository), the function that
/// reads one input, and which errors are a clean rejection. Anything else thrown is a finding,
/// and so is a trap (force unwrap, index out of range, overflow): it kills the process, which
/// ReaderFuzzTests reports through its signal note and libFuzzer through its crash file.
/// No XCTest here: ios_bridge/Fuzz/LibFuzzerMain.swift compiles this file for the long run.
struct ReaderFuzzTarget {
    let name: String
    let what: String
    let maxLength: Int
    let seeds: [[UInt8]]
    let run: ([UInt8]) throws -> Void
    /// True when `error` is this reader's documented rejection.
    let expected: (Error) -> Bool
    /// Inputs in the suite's short profile (folder targets write and hash files: fewer).
    var shortProfile = 200
}

struct FuzzContext {
    /// The repository root (seeds: tests/vectors, tests/decode_fixtures, runtime/models).
    let repo: URL
    /// A private scratch folder the targets write their files into.
    let scratch: URL
    /// A valid bundle folder for the manifest, cases and bundle-folder targets (nil: skipped).
    let bundle: URL?
}

enum ReaderFuzzTargets {
    static func isNHError(_ e: Error) -> Bool { e is NHError }

    /// Every target whose seeds exist (the bundle targets need `context.bundle`).
    static func all(_ ctx: FuzzContext) throws -> [ReaderFuzzTarget] {
        let fm = FileManager.default
        try fm.createDirectory(at: ctx.scratch, withIntermediateDirectories: true)
        let vectors = ctx.repo.appendingPathComponent("tests/vectors")
        func bytes(_ url: URL) throws -> [UInt8] { [UInt8](try Data(contentsOf: url)) }
        func files(_ dir: URL, _ suffixes: [String]) -> [URL] {
            ((try? fm.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)) ?? [])
                .filter { u in suffixes.contains { u.lastPathComponent.hasSuffix($0) } }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        }
        let readerFiles = try files(vectors.appendingPathComponent("readers"), [".json"]).map(bytes)
        let reportFiles = try files(vectors.appendingPathComponent("readers"), [".json"])
            .filter { $0.lastPathComponent.hasPrefix("report-") }.map(bytes)
        let lists = try hashListCases(vectors.appendingPathComponent("match_lists.json"))
        let fixtures = try files(ctx.repo.appendingPathComponent("tests/decode_fixtures"), [".jpg", ".png"]).map(bytes)
        var out: [ReaderFuzzTarget] = []

        // hex: hash hex, plain hex, float bit patterns (every string of the hex/hamming vectors)
        var hexSeeds: [[UInt8]] = []
        for name in ["hex.json", "hamming.json"] {
            let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: vectors.appendingPathComponent(name)))
            collectStrings(doc, into: &hexSeeds, maxLength: 64)
        }
        hexSeeds += ["3f800000", "7fc00000", "3ff0000000000000", "fff0000000000000"].map { Array($0.utf8) }
        out.append(ReaderFuzzTarget(name: "hex", what: "NeuralHash96(hex:), hamming, Hex.decode, FloatHex.float32/64",
                                    maxLength: 256, seeds: hexSeeds, run: { b in
            let text = String(decoding: b, as: UTF8.self)
            _ = Hex.decode(text)
            _ = try? FloatHex.float32(text)
            _ = try? FloatHex.float64(text)
            let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { _ = try? NeuralHash96.hamming(parts[0], parts[1]) }
            _ = try NeuralHash96(hex: text)
        }, expected: isNHError))

        let seedFiles = try ["seed.dat", "seed.f32"].map {
            try bytes(ctx.repo.appendingPathComponent("runtime/models/nhkit-mnv3s-v1/\($0)"))
        }
        out.append(ReaderFuzzTarget(name: "seed", what: "Seed(data:) on seed.f32 / NeuralHash .dat files",
                                    maxLength: 65536, seeds: seedFiles, run: { b in
            _ = try Seed(data: Data(b), source: "fuzz-seed")
        }, expected: isNHError))

        var jsonSeeds = readerFiles + lists.map { $0.files["manifest.json"] ?? [] }
        var bundleFiles: [String: [UInt8]] = [:]
        if let bundle = ctx.bundle {
            for role in bundleRoles { bundleFiles[role] = try bytes(bundle.appendingPathComponent(role)) }
            jsonSeeds += [bundleFiles["manifest.json"]!, bundleFiles["selftest/cases.json"]!]
        }
        out.append(ReaderFuzzTarget(name: "json", what: "StrictJSON.parse (hash-list JSON reader)",
                                    maxLength: 65536, seeds: jsonSeeds, run: { b in
            _ = try StrictJSON.parse(b)
        }, expected: { $0 is StrictJSON.ParseError }))

        let reportURL = ctx.scratch.appendingPathComponent("report.json")
        out.append(ReaderFuzzTarget(name: "report", what: "DeviceReport.load (device reports)",
                                    maxLength: 65536, seeds: reportFiles, run: { b in
            try Data(b).write(to: reportURL)
            _ = try DeviceReport.load(from: reportURL)
        }, expected: isNHError))

        if let base = ctx.bundle {
            let manifestDir = ctx.scratch.appendingPathComponent("manifest-only")
            try fm.createDirectory(at: manifestDir, withIntermediateDirectories: true)
            out.append(ReaderFuzzTarget(name: "bundle-manifest", what: "NHBundle(url:) manifest parse + validate",
                                        maxLength: 65536, seeds: [bundleFiles["manifest.json"]!], run: { b in
                try Data(b).write(to: manifestDir.appendingPathComponent("manifest.json"))
                _ = try NHBundle(url: manifestDir, verifyChecksums: false)
            }, expected: isNHError))
            let casesURL = ctx.scratch.appendingPathComponent("cases.json")
            out.append(ReaderFuzzTarget(name: "selftest-cases", what: "SelfTestCases.load (selftest/cases.json)",
                                        maxLength: 65536, seeds: [bundleFiles["selftest/cases.json"]!], run: { b in
                try Data(b).write(to: casesURL)
                _ = try SelfTestCases.load(from: casesURL)
            }, expected: isNHError))
            let work = ctx.scratch.appendingPathComponent(base.lastPathComponent)
            try? fm.removeItem(at: work)
            try fm.copyItem(at: base, to: work)
            let seeds = bundleRoles.enumerated().map { [UInt8($0.offset | 0x80)] + bundleFiles[$0.element]! }
            out.append(ReaderFuzzTarget(name: "bundle-folder",
                                        what: "NHBundle(url:) + loadSeed + loadSelfTestCases, one file replaced (re-sealed or not)",
                                        maxLength: 65536, seeds: seeds, run: { b in
                guard let (role, content, reseal) = framed(b, roles: bundleRoles) else { return }
                var files = [role: content]
                if reseal, role != "manifest.json" {
                    files["manifest.json"] = resealed(bundleFiles["manifest.json"]!, old: bundleFiles[role]!, new: content)
                }
                for (r, c) in files { try Data(c).write(to: work.appendingPathComponent(r)) }
                defer { for r in files.keys { try? Data(bundleFiles[r]!).write(to: work.appendingPathComponent(r)) } }
                let bundle = try NHBundle(url: work)
                _ = try bundle.loadSeed()
                _ = try bundle.loadSelfTestCases()
            }, expected: isNHError, shortProfile: 40))
        }

        out.append(ReaderFuzzTarget(name: "hashlist-manifest", what: "HashListManifest.parse",
                                    maxLength: 65536, seeds: lists.compactMap { $0.files["manifest.json"] }, run: { b in
            _ = try HashListManifest.parse(b, path: "fuzz/manifest.json")
        }, expected: isNHError))

        let valid = lists.filter { $0.valid && hashListRoles.allSatisfy($0.files.keys.contains) }
        let listDir = ctx.scratch.appendingPathComponent("list")
        var listSeeds: [[UInt8]] = []
        for (k, l) in valid.enumerated() {
            for (i, role) in hashListRoles.enumerated() { listSeeds.append([UInt8(i | 0x80), UInt8(k)] + l.files[role]!) }
        }
        out.append(ReaderFuzzTarget(name: "hashlist-folder",
                                    what: "HashList(contentsOf:) on a list folder, one file replaced (re-sealed or not)",
                                    maxLength: 65536, seeds: listSeeds, run: { b in
            guard b.count >= 2, !valid.isEmpty, let (role, content, reseal) = framed([b[0]] + b.dropFirst(2), roles: hashListRoles) else { return }
            let base = valid[Int(b[1]) % valid.count].files
            var files = base
            files[role] = content
            if reseal, role != "manifest.json" { files["manifest.json"] = resealed(base["manifest.json"]!, old: base[role]!, new: content) }
            try? fm.removeItem(at: listDir)
            try fm.createDirectory(at: listDir, withIntermediateDirectories: true)
            for (r, c) in files { try Data(c).write(to: listDir.appendingPathComponent(r)) }
            _ = try HashList(contentsOf: listDir)
        }, expected: isNHError, shortProfile: 60))

        out.append(ReaderFuzzTarget(name: "orientation", what: "OrientationSource.tag (JPEG APP1 EXIF/XMP, PNG eXIf/tEXt/zTXt/iTXt)",
                                    maxLength: 65536, seeds: fixtures, run: { b in
            _ = OrientationSource.covers(b)
            _ = OrientationSource.tag(in: b)
        }, expected: { _ in false }))

        var zlibSeeds = fixtures.flatMap(pngZlibStreams)
        zlibSeeds.append([0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])
        out.append(ReaderFuzzTarget(name: "zlib", what: "Inflate.zlib (PNG IDAT / zTXt / iTXt streams)",
                                    maxLength: 16384, seeds: zlibSeeds, run: { b in
            _ = try Inflate.zlib(b)
        }, expected: { $0 is Inflate.Failure }))
        return out
    }

    static let bundleRoles = ["manifest.json", "selftest/cases.json", "seed.f32"]
    static let hashListRoles = ["manifest.json", "entries.jsonl", "hashes.bin", "offsets.bin", "fragile.bin"]

    /// A folder input: first byte = which file (low bits) and whether to re-seal the manifest's
    /// sha256/size for it (high bit), the rest = that file's new content.
    static func framed(_ b: [UInt8], roles: [String]) -> (String, [UInt8], Bool)? {
        guard let first = b.first else { return nil }
        return (roles[Int(first & 0x7F) % roles.count], Array(b.dropFirst()), first & 0x80 != 0)
    }

    /// The manifest with `old`'s sha256 replaced by `new`'s everywhere, and the `"size"` that
    /// follows it within the same file entry set to `new.count`: a tampered file that still
    /// passes the checksum, so the fuzzer reaches the parsers behind it.
    static func resealed(_ manifest: [UInt8], old: [UInt8], new: [UInt8]) -> [UInt8] {
        let oldSHA = Array(SHA256Digest.hex(Data(old)).utf8), newSHA = Array(SHA256Digest.hex(Data(new)).utf8)
        let sizeKey = Array("\"size\":".utf8)
        func find(_ needle: [UInt8], in d: [UInt8], from: Int, to: Int) -> Int? {
            guard to - needle.count >= from else { return nil }
            for i in from...(to - needle.count) where d[i..<(i + needle.count)].elementsEqual(needle) { return i }
            return nil
        }
        var d = manifest
        var from = 0
        while let at = find(oldSHA, in: d, from: from, to: d.count) {
            d.replaceSubrange(at..<(at + oldSHA.count), with: newSHA)
            from = at + newSHA.count
            let windowEnd = min(d.count, from + 160)
            if let s = find(sizeKey, in: d, from: from, to: windowEnd), !d[from..<s].contains(UInt8(ascii: "}")) {
                var a = s + sizeKey.count
                while a < d.count, d[a] == 0x20 { a += 1 }
                var z = a
                while z < d.count, (0x30...0x39).contains(d[z]) { z += 1 }
                d.replaceSubrange(a..<z, with: Array(String(new.count).utf8))
            }
        }
        return d
    }

    struct HashListCase { let valid: Bool; let files: [String: [UInt8]] }

    static func hashListCases(_ url: URL) throws -> [HashListCase] {
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        var out: [HashListCase] = []
        for g in doc["testGroups"] as? [[String: Any]] ?? [] {
            for t in g["tests"] as? [[String: Any]] ?? [] {
                let input = t["input"] as? [String: Any] ?? [:]
                var files: [String: [UInt8]] = [:]
                for (name, spec) in input["files"] as? [String: Any] ?? [:] {
                    if let hex = (spec as? [String: Any])?["hex"] as? String, let b = Hex.decode(hex) { files[name] = b }
                }
                out.append(HashListCase(valid: t["result"] as? String == "valid", files: files))
            }
        }
        return out
    }

    static func collectStrings(_ v: Any, into out: inout [[UInt8]], maxLength: Int) {
        if let s = v as? String, s.utf8.count <= maxLength {
            out.append(Array(s.utf8))
        } else if let a = v as? [Any] {
            for x in a { collectStrings(x, into: &out, maxLength: maxLength) }
        } else if let o = v as? [String: Any] {
            for k in o.keys.sorted() { collectStrings(o[k]!, into: &out, maxLength: maxLength) }
        }
    }

    /// The zlib streams of a PNG: the IDAT data (concatenated) and each zTXt's compressed text.
    static func pngZlibStreams(_ b: [UInt8]) -> [[UInt8]] {
        guard b.count > 8, b[1] == 0x50 else { return [] }
        var idat: [UInt8] = [], out: [[UInt8]] = []
        var pos = 8
        while pos + 12 <= b.count {
            let n = Int(b[pos]) << 24 | Int(b[pos + 1]) << 16 | Int(b[pos + 2]) << 8 | Int(b[pos + 3])
            guard n >= 0, pos + 12 + n <= b.count else { break }
            let type = String(decoding: b[(pos + 4)..<(pos + 8)], as: UTF8.self)
            let data = Array(b[(pos + 8)..<(pos + 8 + n)])
            if type == "IDAT" { idat += data }
            if type == "zTXt", let z = data.firstIndex(of: 0), z + 2 <= data.count { out.append(Array(data[(z + 2)...])) }
            pos += 12 + n
        }
        if !idat.isEmpty { out.append(idat) }
        return out
    }
}
