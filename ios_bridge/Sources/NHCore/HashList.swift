import Foundation

/// One line of a hash list's entries.jsonl.
public struct HashListEntry: Equatable, Sendable {
    /// 0-based line number in entries.jsonl: the tie-breaker of search results.
    public let index: Int
    public let id: String
    public let hash: NeuralHash96
    public let label: String?
    /// Where the hash came from; nil when not recorded.
    public let source: String?
    /// Free-form metadata; nil when absent.
    public let meta: JSONValue?
}

/// A verified nhkit hash list (docs/hashlist-format.md, format version 1), loaded whole into
/// memory: every listed file's size and sha256 checked, no unlisted or missing file, counts
/// agreeing with the file sizes, hashes strictly ascending, offsets consistent, every entry of the
/// schema with its group's hash, ids unique, fragile.bin of the right size. Reads a list FOLDER
/// only: Foundation on Linux has no zip reader (unzip `LIST.zip` first).
///
/// Immutable after `init`: share one instance between threads freely (`Sendable`).
public final class HashList: Sendable {
    static let maxManifestBytes = 1 << 20
    static let maxIDChars = 256, maxLabelChars = 1024, maxSourceChars = 4096
    /// Longest entries.jsonl line (the entry schema's limit).
    static let maxLineBytes = 64 * 1024

    public let url: URL
    public let manifest: HashListManifest
    public let entries: [HashListEntry]
    /// Distinct hashes, ascending: bits 0..63 and 64..95 (bit 0 the most significant).
    let hashHigh: [UInt64]
    let hashLow: [UInt32]
    /// Hash k owns entries offsets[k] ..< offsets[k+1].
    let offsets: [Int]
    /// Per-entry fragile masks; nil when the list has no fragile.bin.
    let fragileHigh: [UInt64]?
    let fragileLow: [UInt32]?

    public var listID: String { manifest.listID }
    public var fingerprint: String { manifest.fingerprint }
    public var seedSHA256: String { manifest.seedSHA256 }
    public var spec: NHSpec { manifest.spec }
    public var threshold: HashListManifest.Threshold? { manifest.threshold }
    public var count: Int { entries.count }
    public var hashCount: Int { hashHigh.count }
    public var hasFragile: Bool { fragileHigh != nil }

    /// Opens and verifies the list folder at `url`.
    /// - Throws: `NHError.hashList` naming the file and field at fault.
    public init(contentsOf url: URL) throws {
        self.url = url
        let manifestURL = url.appendingPathComponent("manifest.json")
        let manifestBytes = try Self.read(manifestURL, limit: Self.maxManifestBytes, field: "manifest.json")
        let m = try HashListManifest.parse(manifestBytes, path: manifestURL.path)
        manifest = m

        let present: [String]
        do {
            present = try NHBundle.regularFiles(under: url)
        } catch {
            throw NHError.hashList(path: url.path, field: "files", reason: "cannot list the list's files: \(error.localizedDescription)")
        }
        var data: [String: [UInt8]] = [:]
        for f in m.files {
            let fileURL = url.appendingPathComponent(f.path)
            guard present.contains(f.path) else {
                throw NHError.hashList(path: fileURL.path, field: f.path, reason: "is listed in the manifest's \"files\" but missing")
            }
            let bytes = try Self.read(fileURL, limit: f.size, field: f.path)
            guard bytes.count == f.size else {
                throw NHError.hashList(path: fileURL.path, field: f.path, reason: "size is \(bytes.count) bytes, the manifest says \(f.size)")
            }
            let sha = SHA256Digest.hex(bytes)
            guard sha == f.sha256 else {
                throw NHError.hashList(path: fileURL.path, field: f.path, reason: "sha256 is \(sha), the manifest says \(f.sha256)")
            }
            data[f.path] = bytes
        }
        for rel in present where rel != "manifest.json" && m.file(rel) == nil {
            throw NHError.hashList(path: url.appendingPathComponent(rel).path, field: rel,
                                   reason: "file is in the list but not in the manifest's \"files\"")
        }
        let hashes = data[HashListManifest.hashesFile]!, offsetBytes = data[HashListManifest.offsetsFile]!
        let h = m.hashCount, n = m.entryCount
        let hashesPath = url.appendingPathComponent(HashListManifest.hashesFile).path
        let offsetsPath = url.appendingPathComponent(HashListManifest.offsetsFile).path
        guard hashes.count == 12 * h else {
            throw NHError.hashList(path: hashesPath, field: "hashes.bin", reason: "has \(hashes.count) bytes, counts.hashes = \(h) needs \(12 * h)")
        }
        guard offsetBytes.count == 4 * (h + 1) else {
            throw NHError.hashList(path: offsetsPath, field: "offsets.bin", reason: "has \(offsetBytes.count) bytes, counts.hashes = \(h) needs \(4 * (h + 1))")
        }
        if let fragile = data[HashListManifest.fragileFile], fragile.count != 12 * n {
            throw NHError.hashList(path: url.appendingPathComponent(HashListManifest.fragileFile).path, field: "fragile.bin",
                                   reason: "has \(fragile.count) bytes, counts.entries = \(n) needs \(12 * n)")
        }

        let (high, low) = Self.words(hashes)
        for k in 1..<max(h, 1) {
            guard (high[k - 1], low[k - 1]) < (high[k], low[k]) else {
                throw NHError.hashList(path: hashesPath, field: "hashes.bin", reason: "hashes are not strictly ascending at hash \(k)")
            }
        }
        var offsets = [Int](repeating: 0, count: h + 1)
        for k in 0...h {
            let v = Int(offsetBytes[4 * k]) | Int(offsetBytes[4 * k + 1]) << 8 | Int(offsetBytes[4 * k + 2]) << 16 | Int(offsetBytes[4 * k + 3]) << 24
            if k == 0, v != 0 {
                throw NHError.hashList(path: offsetsPath, field: "offsets.bin", reason: "offsets[0] is \(v), must be 0")
            }
            if k > 0, v <= offsets[k - 1] {
                throw NHError.hashList(path: offsetsPath, field: "offsets.bin", reason: "offsets are not strictly increasing at \(k)")
            }
            guard v <= n else {
                throw NHError.hashList(path: offsetsPath, field: "offsets.bin", reason: "offsets[\(k)] = \(v) exceeds counts.entries = \(n)")
            }
            offsets[k] = v
        }
        guard offsets[h] == n else {
            throw NHError.hashList(path: offsetsPath, field: "offsets.bin", reason: "offsets[\(h)] is \(offsets[h]), must equal counts.entries = \(n)")
        }
        entries = try HashListEntries.parse(data[HashListManifest.entriesFile]!,
                                            path: url.appendingPathComponent(HashListManifest.entriesFile).path,
                                            count: n, high: high, low: low, offsets: offsets)
        hashHigh = high
        hashLow = low
        self.offsets = offsets
        if let fragile = data[HashListManifest.fragileFile] {
            let (fh, fl) = Self.words(fragile)
            fragileHigh = fh
            fragileLow = fl
        } else {
            fragileHigh = nil
            fragileLow = nil
        }
    }

    /// Splits 12-byte big-endian records into (bits 0..63, bits 64..95).
    static func words(_ bytes: [UInt8]) -> ([UInt64], [UInt32]) {
        let count = bytes.count / 12
        var high = [UInt64](repeating: 0, count: count), low = [UInt32](repeating: 0, count: count)
        for k in 0..<count {
            var hv: UInt64 = 0
            for j in 0..<8 { hv = hv << 8 | UInt64(bytes[12 * k + j]) }
            var lv: UInt32 = 0
            for j in 8..<12 { lv = lv << 8 | UInt32(bytes[12 * k + j]) }
            high[k] = hv
            low[k] = lv
        }
        return (high, low)
    }

    /// Reads a whole file, refusing more than `limit` bytes (a wrong or hostile file cannot
    /// exhaust memory); returns at most `limit + 1` bytes so a size mismatch is reported.
    static func read(_ url: URL, limit: Int, field: String) throws -> [UInt8] {
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            let data = try handle.read(upToCount: limit + 1) ?? Data()
            if field == "manifest.json", data.count > limit {
                throw NHError.hashList(path: url.path, field: field, reason: "is larger than \(limit) bytes")
            }
            return [UInt8](data)
        } catch let e as NHError {
            throw e
        } catch {
            throw NHError.hashList(path: url.path, field: field, reason: "cannot read: \(error.localizedDescription)")
        }
    }

    /// Checks that hashes made with `bundle` may be matched against this list: same model
    /// fingerprint (`source_model.fingerprint`), same seed (`seed.sha256`, the digest of its
    /// float32 matrix) and hash-compatible specs.
    /// - Throws: `NHError.hashList` naming both values when they differ.
    public func checkModel(bundle: NHBundle) throws {
        let name = bundle.url.appendingPathComponent("manifest.json").path
        guard let fp = bundle.manifest.sourceModel?.fingerprint else {
            throw NHError.hashList(path: name, field: "model.fingerprint",
                                   reason: "the bundle records no source_model.fingerprint, so it cannot be matched against hash list \(listID) (fingerprint \(fingerprint))")
        }
        try checkModel(fingerprint: fp, seedSHA256: bundle.manifest.seed.sha256.lowercased(), source: name)
        guard bundle.manifest.spec.orientation == spec.orientation else {
            throw NHError.hashList(path: name, field: "spec", reason: "the bundle's spec (orientation \(bundle.manifest.spec.orientation.rawValue)) makes hashes that do not compare with the list's (orientation \(spec.orientation.rawValue))")
        }
    }

    /// Checks a model fingerprint and seed digest against the list's; `source` names the
    /// hashes' origin in the message.
    public func checkModel(fingerprint fp: String, seedSHA256 seed: String, source: String) throws {
        guard fp == fingerprint else {
            throw NHError.hashList(path: source, field: "model.fingerprint",
                                   reason: "hashes made with model fingerprint \(fp) cannot be matched against hash list \(listID), made with model fingerprint \(fingerprint)")
        }
        guard seed == seedSHA256 else {
            throw NHError.hashList(path: source, field: "model.seed_sha256",
                                   reason: "hashes made with seed sha256 \(seed) cannot be matched against hash list \(listID), made with seed sha256 \(seedSHA256)")
        }
    }
}

/// Reads and checks entries.jsonl against hashes.bin and offsets.bin.
enum HashListEntries {
    static func parse(_ data: [UInt8], path: String, count n: Int, high: [UInt64], low: [UInt32], offsets: [Int]) throws -> [HashListEntry] {
        var out: [HashListEntry] = []
        // Capacity from the file's size too: counts.entries is not trusted until the lines agree.
        out.reserveCapacity(min(n, data.count / 64 + 1))
        var ids = Set<String>()
        ids.reserveCapacity(min(n, data.count / 64 + 1))
        var pos = 0, group = 0, previousGroup = -1
        var previousID: [UInt8] = []
        while pos < data.count {
            let line = out.count
            let at = "\(path) line \(line + 1)"
            guard let end = data[pos...].firstIndex(of: 0x0A) else {
                throw NHError.hashList(path: at, field: "entries.jsonl", reason: "does not end with a newline")
            }
            guard line < n else {
                throw NHError.hashList(path: path, field: "entries.jsonl", reason: "has more than counts.entries = \(n) lines")
            }
            guard end > pos else { throw NHError.hashList(path: at, field: "entries.jsonl", reason: "is blank") }
            guard end - pos <= HashList.maxLineBytes else {
                throw NHError.hashList(path: at, field: "entries.jsonl", reason: "\(end - pos) bytes; a line is at most \(HashList.maxLineBytes)")
            }
            let doc: StrictJSON
            do {
                doc = try StrictJSON.parse(data[pos..<end])
            } catch let e as StrictJSON.ParseError {
                throw NHError.hashList(path: at, field: e.duplicatePath ?? "entries.jsonl", reason: e.duplicatePath == nil ? "not valid JSON: \(e)" : "\(e)")
            }
            guard case .object(let e) = doc else {
                throw NHError.hashList(path: at, field: "entries.jsonl", reason: "must be a JSON object")
            }
            let c = HashListFields(path: at)
            try c.keys(e, "", required: ["id", "hash", "label", "source", "meta"], optional: [])
            let id = try c.string(e, "id", "id")
            let idChars = id.unicodeScalars.count
            guard (1...HashList.maxIDChars).contains(idChars) else {
                throw c.fail("id", "has \(idChars) characters, must have 1..\(HashList.maxIDChars)")
            }
            guard ids.insert(id).inserted else { throw c.fail("id", "duplicate id \(String(reflecting: id))") }
            let hex = try c.string(e, "hash", "hash")
            guard HashListFields.isLowerHex(hex, count: NeuralHash96.hexDigits), let hash = try? NeuralHash96(hex: hex) else {
                throw c.fail("hash", "\(String(reflecting: hex)) is not \(NeuralHash96.hexDigits) lowercase hex digits")
            }
            while group + 1 < offsets.count, offsets[group + 1] <= line { group += 1 }
            let idBytes = Array(id.utf8)
            if group == previousGroup, !previousID.lexicographicallyPrecedes(idBytes) {
                throw c.fail("id", "entries sharing a hash must be sorted by id (UTF-8 bytes): \(String(reflecting: id)) comes after its predecessor")
            }
            previousGroup = group
            previousID = idBytes
            let groupHash = NeuralHash96(high: high[group], low: low[group])
            guard hash == groupHash else {
                throw c.fail("hash", "\(hex) differs from its group's hash \(groupHash.hex) in hashes.bin (hash \(group))")
            }
            let label = try optionalString(e, "label", c, max: HashList.maxLabelChars)
            let source = try optionalString(e, "source", c, max: HashList.maxSourceChars)
            var meta: JSONValue?
            switch e["meta"]! {
            case .null: meta = nil
            case .object(let o):
                // No size check here: the writer limits meta to 16 KiB; readers cap the line
                // (docs/hashlist-format.md), which bounds meta too.
                meta = StrictJSON.object(o).jsonValue
            case let other: throw c.fail("meta", "must be an object or null, got \(other.typeName)")
            }
            out.append(HashListEntry(index: line, id: id, hash: hash, label: label, source: source, meta: meta))
            pos = end + 1
        }
        guard out.count == n else {
            throw NHError.hashList(path: path, field: "entries.jsonl", reason: "has \(out.count) lines, counts.entries = \(n)")
        }
        return out
    }

    private static func optionalString(_ e: [String: StrictJSON], _ key: String, _ c: HashListFields, max: Int) throws -> String? {
        switch e[key]! {
        case .null: return nil
        case .string(let s):
            let chars = s.unicodeScalars.count
            guard chars <= max else { throw c.fail(key, "has \(chars) characters, more than \(max)") }
            return s
        case let other: throw c.fail(key, "must be a string or null, got \(other.typeName)")
        }
    }
}
