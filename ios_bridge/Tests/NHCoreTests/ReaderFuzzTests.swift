import Foundation
import XCTest
@testable import NHCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The seeded mutation fuzzer over every NHCore reader (targets: Fuzz/FuzzTargets.swift,
/// operators: Fuzz/FuzzMutator.swift): each input gives a result or the reader's documented
/// error (NHError; StrictJSON.ParseError, Inflate.Failure for the internal layers), never another
/// error or a trap. A short deterministic profile runs in the suite (NHKIT_FUZZ_ITERATIONS inputs
/// per reader, default 200, fewer for the folder readers; run seed NHKIT_FUZZ_SEED, default 1); the long run is libFuzzer over
/// the same targets (benchmarks/fuzz_bridges.sh). A trap kills the test process: before it dies,
/// a signal handler prints which reader and input index it was running ("nhkit fuzz: trap ..."),
/// so the finding is reproducible from (seed, reader, index). Regression inputs in
/// tests/fuzz_regressions/bridges/<reader>/ run first, every time.
final class ReaderFuzzTests: XCTestCase {
    static var targets: [String: ReaderFuzzTarget] = [:]
    static var scratch: URL?

    override class func tearDown() {
        if let s = scratch { try? FileManager.default.removeItem(at: s) }
        super.tearDown()
    }

    func target(_ name: String) throws -> ReaderFuzzTarget {
        if Self.targets.isEmpty {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("nhcore-fuzz-\(UUID().uuidString)")
            Self.scratch = root
            let bundle = try TestBundle.make(in: root.appendingPathComponent("base"), sources: [
                .init(id: "grey", image: RGB8Image(width: 23, height: 17, pixels: splitmixBytes(seed: 3, count: 23 * 17 * 3)), orientation: 6),
            ]).url
            let ctx = FuzzContext(repo: repoRoot, scratch: root.appendingPathComponent("work"), bundle: bundle)
            for t in try ReaderFuzzTargets.all(ctx) { Self.targets[t.name] = t }
        }
        return try XCTUnwrap(Self.targets[name], "no fuzz target \(name)")
    }

    func iterations(_ t: ReaderFuzzTarget) -> Int { Int(ProcessInfo.processInfo.environment["NHKIT_FUZZ_ITERATIONS"] ?? "") ?? t.shortProfile }
    var runSeed: UInt64 { UInt64(ProcessInfo.processInfo.environment["NHKIT_FUZZ_SEED"] ?? "") ?? 1 }

    /// Runs the regression inputs, then `iterations` mutated inputs; fails on every input that
    /// ends in an undocumented error (a trap ends the process, after the signal note).
    func fuzz(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let t = try target(name)
        XCTAssertFalse(t.seeds.isEmpty, "\(name): no seeds", file: file, line: line)
        FuzzTrapNote.install()
        var inputs: [(String, [UInt8])] = []
        let regressions = repoRoot.appendingPathComponent("tests/fuzz_regressions/bridges/\(name)")
        for u in ((try? FileManager.default.contentsOfDirectory(at: regressions, includingPropertiesForKeys: nil)) ?? [])
            .sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) {
            inputs.append(("regression \(u.lastPathComponent)", [UInt8](try Data(contentsOf: u))))
        }
        var findings = 0, rejected = 0
        let iterations = iterations(t)
        let findingsDir = ProcessInfo.processInfo.environment["NHKIT_FUZZ_FINDINGS_DIR"].map { URL(fileURLWithPath: $0) }
        func one(_ label: String, _ input: [UInt8]) {
            FuzzTrapNote.set("reader \(name), \(label) (\(input.count) bytes, first: \(Hex.encode(input.prefix(32))))")
            do {
                try t.run(input)
            } catch where t.expected(error) {
                rejected += 1
            } catch {
                findings += 1
                if let dir = findingsDir {   // for tests/fuzz_regressions/bridges/<reader>/
                    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                    try? Data(input).write(to: dir.appendingPathComponent("\(name)-\(label.filter { $0.isLetter || $0.isNumber }).bin"))
                }
                if findings <= 5 {
                    XCTFail("\(name): \(label): undocumented \(type(of: error)): \(error); input (\(input.count) bytes) starts \(Hex.encode(input.prefix(48)))",
                            file: file, line: line)
                }
            }
        }
        for (label, input) in inputs { one(label, input) }
        for i in 0..<iterations {
            var rng = FuzzRNG.forInput(seed: runSeed, reader: name, index: i)
            one("input #\(i) of seed \(runSeed)", FuzzMutator.input(seeds: t.seeds, rng: &rng, maxLength: t.maxLength))
        }
        FuzzTrapNote.set("")
        XCTAssertEqual(findings, 0, "\(name): \(findings) of \(iterations + inputs.count) inputs ended in an undocumented error", file: file, line: line)
        // The oracle is not vacuous: mutations of valid files must reach the rejection paths.
        if t.name != "orientation" { XCTAssertGreaterThan(rejected, 0, "\(name): no input was rejected", file: file, line: line) }
    }

    func testHex() throws { try fuzz("hex") }
    func testSeed() throws { try fuzz("seed") }
    func testJSON() throws { try fuzz("json") }
    func testDeviceReport() throws { try fuzz("report") }
    func testBundleManifest() throws { try fuzz("bundle-manifest") }
    func testSelfTestCases() throws { try fuzz("selftest-cases") }
    func testBundleFolder() throws { try fuzz("bundle-folder") }
    func testHashListManifest() throws { try fuzz("hashlist-manifest") }
    func testHashListFolder() throws { try fuzz("hashlist-folder") }
    func testOrientationSource() throws { try fuzz("orientation") }
    func testZlib() throws { try fuzz("zlib") }

    /// Fuzzer finding: a report with a key missing or of the wrong type let DecodingError escape
    /// DeviceReport.load; it is an NHError naming the file and the field.
    func testMalformedReportIsAnNHError() throws {
        let dir = try makeTempDir(self)
        let valid = try String(contentsOf: vectorsDir.appendingPathComponent("readers/report-valid.json"), encoding: .utf8)
        let url = dir.appendingPathComponent("report.json")
        try valid.replacingOccurrences(of: "\"compute_unit\"", with: "\"compute_unit_x\"").write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DeviceReport.load(from: url)) { e in
            guard case NHError.bundle(let path, let reason) = e else { return XCTFail("not an NHError.bundle: \(e)") }
            XCTAssertEqual(path, url.path)
            XCTAssertTrue(reason.contains("compute_unit"), reason)
        }
        XCTAssertThrowsError(try DeviceReport.load(from: dir.appendingPathComponent("missing.json"))) { e in
            XCTAssertTrue(e is NHError, "a missing file is an NHError too: \(e)")
        }
    }

    /// The mutator is deterministic: the same (seed, reader, index) gives the same input.
    func testMutatorIsDeterministic() throws {
        let seeds: [[UInt8]] = [Array("{\"a\": [1, 2, \"x\"], \"b\": null}".utf8), Array(0..<64)]
        for i in 0..<50 {
            var a = FuzzRNG.forInput(seed: 7, reader: "json", index: i), b = a
            XCTAssertEqual(FuzzMutator.input(seeds: seeds, rng: &a, maxLength: 128),
                           FuzzMutator.input(seeds: seeds, rng: &b, maxLength: 128))
        }
        var r = FuzzRNG.forInput(seed: 7, reader: "json", index: 0)
        var distinct = Set<[UInt8]>()
        for _ in 0..<50 { distinct.insert(FuzzMutator.input(seeds: seeds, rng: &r, maxLength: 128)) }
        XCTAssertGreaterThan(distinct.count, 30)
    }

    /// Swift and Java draw the same inputs: the digest of 200 inputs equals the one
    /// ReaderFuzzTest.mutatorMatchesSwift asserts, so a finding's (seed, reader, index) is one input.
    func testMutatorMatchesJava() {
        let seeds: [[UInt8]] = [Array("{\"a\": [1, 2, \"x\"], \"b\": null}".utf8), Array(0..<64)]
        var all: [UInt8] = []
        for i in 0..<200 {
            var rng = FuzzRNG.forInput(seed: 7, reader: "json", index: i)
            let input = FuzzMutator.input(seeds: seeds, rng: &rng, maxLength: 128)
            all += [UInt8(truncatingIfNeeded: input.count >> 8), UInt8(truncatingIfNeeded: input.count)] + input
        }
        XCTAssertEqual(SHA256Digest.hex(Data(all)), "28983f34a3988eb42a1f5ea6bba2e67dfb425035a055079699cc9b4fefa657de")
    }

    /// Re-sealing keeps a replaced file's checksum valid, so the parser behind it is reached.
    func testResealReachesTheEntriesParser() throws {
        let t = try target("hashlist-folder")
        let seed = try XCTUnwrap(t.seeds.first { $0[0] & 0x7F == 1 })   // entries.jsonl, re-sealed
        XCTAssertNoThrow(try t.run(seed))
        var broken = seed
        broken.append(contentsOf: Array("{\"id\": 5}\n".utf8))
        XCTAssertThrowsError(try t.run(broken)) { e in
            XCTAssertTrue("\(e)".contains("entries.jsonl"), "\(e)")
            XCTAssertFalse("\(e)".contains("sha256"), "re-sealed, so not a checksum error: \(e)")
        }
    }
}

/// What the fuzz loop is running, printed by a signal handler when a trap kills the process
/// (async-signal-safe: a preallocated buffer and write(2)); then the previous handler (Swift's
/// backtracer or the default) runs as the faulting instruction repeats.
enum FuzzTrapNote {
    static let capacity = 512
    nonisolated(unsafe) static let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: 512)
    nonisolated(unsafe) static var length = 0
    nonisolated(unsafe) static var installed = false
    nonisolated(unsafe) static var previous: [Int32: sigaction] = [:]

    static func set(_ text: String) {
        let bytes = Array(("\nnhkit fuzz: trap while running " + text + "\n").utf8.prefix(capacity))
        length = 0
        for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
        length = text.isEmpty ? 0 : bytes.count
    }

    static func install() {
        guard !installed else { return }
        installed = true
        for sig in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT, SIGFPE] {
            var action = sigaction()
            var old = sigaction()
            #if canImport(Glibc)
            action.__sigaction_handler.sa_handler = fuzzTrapHandler
            #else
            action.__sigaction_u.__sa_handler = fuzzTrapHandler
            #endif
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(sig, &action, &old)
            previous[sig] = old
        }
    }
}

private func fuzzTrapHandler(_ sig: Int32) {
    if FuzzTrapNote.length > 0 { _ = write(2, FuzzTrapNote.buffer, FuzzTrapNote.length) }
    if var old = FuzzTrapNote.previous[sig] {
        sigaction(sig, &old, nil)
    } else {
        signal(sig, SIG_DFL)
    }
}
