import Foundation

/// `manifest.json` of an nhkit hash list, format version 1 (docs/hashlist-format.md), parsed and
/// checked on its own; `HashList` checks it against the files.
public struct HashListManifest: Equatable, Sendable {
    public static let format = "nhkit-hashlist"
    public static let formatVersion = 1
    static let entriesFile = "entries.jsonl", hashesFile = "hashes.bin", offsetsFile = "offsets.bin", fragileFile = "fragile.bin"

    public struct FileEntry: Equatable, Sendable {
        public let path: String
        public let sha256: String
        public let size: Int
    }

    /// The recommended Hamming threshold (a hit is `distance <= recommended`) and what it was
    /// measured on.
    public struct Threshold: Equatable, Sendable {
        public let recommended: Int
        public let fpr: Double
        /// `zero-fp` or `fpr<=X`.
        public let criterion: String
        public let negativePairs: Int
        public let negativeImages: Int
        /// Device drift allowed for (bits); nil when none was.
        public let driftP99: Int?
        public let source: String
        public let reportSHA256: String
    }

    public let listID: String
    public let spec: NHSpec
    public let modelName: String
    /// Weights fingerprint of the model the hashes were made with (64 lowercase hex digits).
    public let fingerprint: String
    /// sha256 of the seed as 96x128 little-endian float32 (64 lowercase hex digits).
    public let seedSHA256: String
    public let entryCount: Int
    public let hashCount: Int
    public let threshold: Threshold?
    /// Sorted by path.
    public let files: [FileEntry]

    /// Parses manifest.json bytes; `path` names the file in errors.
    public static func parse(_ bytes: [UInt8], path: String) throws -> HashListManifest {
        let doc: StrictJSON
        do {
            doc = try StrictJSON.parse(bytes)
        } catch let e as StrictJSON.ParseError {
            throw NHError.hashList(path: path, field: e.duplicatePath ?? "manifest.json", reason: e.duplicatePath == nil ? "not valid JSON: \(e)" : "\(e)")
        }
        guard case .object(let m) = doc else {
            throw NHError.hashList(path: path, field: "manifest.json", reason: "must be a JSON object")
        }
        return try HashListManifest(m, path: path)
    }

    private init(_ m: [String: StrictJSON], path: String) throws {
        let c = HashListFields(path: path)
        try c.keys(m, "", required: ["format", "format_version", "list_id", "spec", "model", "counts", "threshold", "files", "tools"], optional: [])
        let format = try c.string(m, "format", "format")
        guard format == Self.format else {
            throw c.fail("format", "is \(String(reflecting: format)), expected \"\(Self.format)\"")
        }
        let version = try c.int(m, "format_version", "format_version")
        guard version == Self.formatVersion else {
            throw c.fail("format_version", "\(version) is not supported (this reader knows version \(Self.formatVersion))")
        }
        listID = try c.string(m, "list_id", "list_id")
        guard HashListFields.isListID(listID) else {
            throw c.fail("list_id", "\(String(reflecting: listID)) does not match [A-Za-z0-9._-]{1,128} (or is \".\" or \"..\")")
        }
        let specJSON = try c.object(m, "spec", "spec")
        try c.keys(specJSON, "spec.", required: NHSpec.CodingKeys.allCases.map(\.stringValue), optional: [])
        do {
            spec = try JSONDecoder().decode(NHSpec.self, from: Data(StrictJSON.object(specJSON).compactText.utf8))
        } catch {
            throw c.fail("spec", "\(error)")
        }
        let model = try c.object(m, "model", "model")
        try c.keys(model, "model.", required: ["name", "fingerprint", "seed_sha256"], optional: [])
        modelName = try c.string(model, "name", "model.name")
        try c.chars(modelName, 1...256, "model.name")
        fingerprint = try c.hex64(model, "fingerprint", "model.fingerprint")
        seedSHA256 = try c.hex64(model, "seed_sha256", "model.seed_sha256")
        let counts = try c.object(m, "counts", "counts")
        try c.keys(counts, "counts.", required: ["entries", "hashes"], optional: [])
        entryCount = try c.int(counts, "entries", "counts.entries", in: 0...Int(Int32.max - 8))
        hashCount = try c.int(counts, "hashes", "counts.hashes", in: 0...entryCount)
        guard (hashCount == 0) == (entryCount == 0) else {
            throw c.fail("counts.hashes", "\(hashCount) hashes for \(entryCount) entries")
        }
        if let t = m["threshold"], t != .null { // present: the key list above requires it
            guard case .object(let t) = t else { throw c.fail("threshold", "must be an object or null, got \(t.typeName)") }
            threshold = try Self.threshold(t, c)
        } else {
            threshold = nil
        }
        files = try Self.files(m, c)
        let tools = try c.object(m, "tools", "tools")
        guard tools.count <= 16 else { throw c.fail("tools", "has \(tools.count) entries, at most 16") }
        for k in tools.keys.sorted() { try c.chars(try c.string(tools, k, "tools." + k), 0...128, "tools." + k) }
    }

    private static func threshold(_ t: [String: StrictJSON], _ c: HashListFields) throws -> Threshold {
        try c.keys(t, "threshold.", required: ["recommended", "fpr", "criterion", "negative_pairs", "negative_images",
                                               "drift_p99", "source", "report_sha256"], optional: [])
        let recommended = try c.int(t, "recommended", "threshold.recommended", in: 0...NeuralHash96.bitCount)
        let fpr = try c.number(t, "fpr", "threshold.fpr")
        guard fpr >= 0, fpr <= 1 else { throw c.fail("threshold.fpr", "\(fpr) is not a rate in 0..1") }
        let criterion = try c.string(t, "criterion", "threshold.criterion")
        let rest = criterion.hasPrefix("fpr<=") ? criterion.utf8.dropFirst(5) : Substring("").utf8
        let isFpr = !rest.isEmpty && rest.allSatisfy { (0x30...0x39).contains($0) || [0x2E, 0x65, 0x45, 0x2B, 0x2D].contains($0) }
        guard criterion == "zero-fp" || isFpr else {  // the schema's ^(zero-fp|fpr<=[0-9.eE+-]+)$
            throw c.fail("threshold.criterion", "\(String(reflecting: criterion)) is neither \"zero-fp\" nor \"fpr<=X\"")
        }
        let pairs = try c.int(t, "negative_pairs", "threshold.negative_pairs", in: 1...Int.max)
        let images = try c.int(t, "negative_images", "threshold.negative_images", in: 2...Int.max)
        let drift = t["drift_p99"] == .null ? nil : try c.int(t, "drift_p99", "threshold.drift_p99", in: 0...NeuralHash96.bitCount)
        return Threshold(recommended: recommended, fpr: fpr, criterion: criterion, negativePairs: pairs, negativeImages: images,
                         driftP99: drift, source: try c.chars(try c.string(t, "source", "threshold.source"), 1...256, "threshold.source"),
                         reportSHA256: try c.hex64(t, "report_sha256", "threshold.report_sha256"))
    }

    private static func files(_ m: [String: StrictJSON], _ c: HashListFields) throws -> [FileEntry] {
        guard case .array(let list) = m["files"]! else { throw c.fail("files", "must be an array, got \(m["files"]!.typeName)") }
        let known: Set<String> = [entriesFile, hashesFile, offsetsFile, fragileFile]
        var out: [FileEntry] = []
        for (i, v) in list.enumerated() {
            let at = "files[\(i)]"
            guard case .object(let f) = v else { throw c.fail(at, "must be an object") }
            try c.keys(f, at + ".", required: ["path", "sha256", "size"], optional: [])
            let p = try c.string(f, "path", at + ".path")
            guard known.contains(p) else {
                throw c.fail("files", "lists \(String(reflecting: p)), which is not a file of a version-\(formatVersion) hash list")
            }
            if out.contains(where: { $0.path == p }) { throw c.fail("files", "lists \(p) twice") }
            if let prev = out.last, Array(prev.path.utf8).lexicographicallyPrecedes(Array(p.utf8)) == false {
                throw c.fail("files", "is not sorted by path (\(prev.path) before \(p))")
            }
            out.append(FileEntry(path: p, sha256: try c.hex64(f, "sha256", at + ".sha256"),
                                 size: try c.int(f, "size", at + ".size", in: 0...Int(Int32.max))))
        }
        for required in [entriesFile, hashesFile, offsetsFile] where !out.contains(where: { $0.path == required }) {
            throw c.fail("files", "does not list \(required), which every hash list has")
        }
        return out
    }

    public func file(_ path: String) -> FileEntry? { files.first { $0.path == path } }
}

/// Typed access to parsed hash-list JSON, failing with `NHError.hashList` naming file and field.
struct HashListFields {
    let path: String

    func fail(_ field: String, _ reason: String) -> NHError {
        NHError.hashList(path: path, field: field, reason: reason)
    }

    func keys(_ m: [String: StrictJSON], _ prefix: String, required: [String], optional: [String]) throws {
        for k in required where m[k] == nil { throw fail(prefix + k, "is missing") }
        for k in m.keys.sorted() where !required.contains(k) && !optional.contains(k) {
            throw fail(prefix + k, "is not a field of this object (unknown key \(String(reflecting: k)))")
        }
    }

    func value(_ m: [String: StrictJSON], _ key: String, _ field: String) throws -> StrictJSON {
        guard let v = m[key] else { throw fail(field, "is missing") }
        return v
    }

    func string(_ m: [String: StrictJSON], _ key: String, _ field: String) throws -> String {
        let v = try value(m, key, field)
        guard case .string(let s) = v else { throw fail(field, "must be a string, got \(v.typeName)") }
        return s
    }

    func int(_ m: [String: StrictJSON], _ key: String, _ field: String, in range: ClosedRange<Int>? = nil) throws -> Int {
        let v = try value(m, key, field)
        guard case .number(let text) = v else { throw fail(field, "must be an integer, got \(v.typeName)") }
        guard let n = v.intValue else { throw fail(field, "must be an integer in range, got \(text)") }
        if let r = range, !r.contains(n) { throw fail(field, "\(n) is outside \(r.lowerBound)..\(r.upperBound)") }
        return n
    }

    /// Checks a length in code points (as Python's `len` and JSON Schema count); returns `s`.
    @discardableResult
    func chars(_ s: String, _ range: ClosedRange<Int>, _ field: String) throws -> String {
        let n = s.unicodeScalars.count
        guard range.contains(n) else { throw fail(field, "has \(n) characters, must have \(range.lowerBound)..\(range.upperBound)") }
        return s
    }

    func number(_ m: [String: StrictJSON], _ key: String, _ field: String) throws -> Double {
        let v = try value(m, key, field)
        guard let d = v.doubleValue, d.isFinite else { throw fail(field, "must be a number, got \(v.typeName)") }
        return d
    }

    func object(_ m: [String: StrictJSON], _ key: String, _ field: String) throws -> [String: StrictJSON] {
        let v = try value(m, key, field)
        guard case .object(let o) = v else { throw fail(field, "must be an object, got \(v.typeName)") }
        return o
    }

    func hex64(_ m: [String: StrictJSON], _ key: String, _ field: String) throws -> String {
        let s = try string(m, key, field)
        guard Self.isLowerHex(s, count: 64) else { throw fail(field, "\(String(reflecting: s)) is not 64 lowercase hex digits") }
        return s
    }

    static func isLowerHex(_ s: String, count: Int) -> Bool {
        let u = s.utf8
        return u.count == count && u.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// `[A-Za-z0-9._-]{1,128}`, not `.` or `..`.
    static func isListID(_ s: String) -> Bool {
        let u = s.utf8
        guard (1...128).contains(u.count), s != ".", s != ".." else { return false }
        return u.allSatisfy { c in
            (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || c == 0x2D
        }
    }
}
