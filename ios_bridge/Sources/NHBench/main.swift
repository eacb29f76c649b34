// NHBench: times NHCore's exact BICUBIC resize (spec step 3) of a 12 MP RGB8 buffer to 360x360
// (issue budget: at most 150 ms in a release build on the project machine). Not a test. Run
//     swift run -c release --scratch-path ios_bridge/.build NHBench [--runs N] [--out FILE.md]   (repository root)
// or benchmarks/ios_resize.sh, which adds the Python reference's figure on the same input.
import Foundation
import NHCore

var runs = 15
var outPath: String?
var extreme = 0
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let a = args.removeFirst()
    switch (a, args.first) {
    case ("--runs", let v?): runs = max(1, Int(v) ?? runs); args.removeFirst()
    case ("--out", let v?): outPath = v; args.removeFirst()
    case ("--extreme", let v?): extreme = Int(v) ?? 0; args.removeFirst()
    default:
        FileHandle.standardError.write(Data("usage: NHBench [--runs N] [--out FILE.md] [--extreme H]\n".utf8))
        exit(2)
    }
}

/// SplitMix64 bytes (tests/vectors/README.md), so other languages can rebuild the same input.
func splitmixBytes(seed: UInt64, count: Int) -> [UInt8] {
    var state = seed
    var out = [UInt8](repeating: 0, count: count + 8)
    out.withUnsafeMutableBytes { raw in
        var off = 0
        while off < count {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            raw.storeBytes(of: (z ^ (z >> 31)).littleEndian, toByteOffset: off, as: UInt64.self)
            off += 8
        }
    }
    out.removeLast(8)
    return out
}

func wallMs(_ f: () -> Void) -> Double {
    let t0 = DispatchTime.now().uptimeNanoseconds
    f()
    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
}

/// CPU time of this thread: on a machine shared with other jobs, wall time includes time spent
/// descheduled; thread CPU time is the cost of the work itself.
func threadCPUms() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
}

struct Result {
    let label: String
    var wall: [Double] = []
    var cpu: [Double] = []
    var digest = ""
    var median: Double { wall.sorted()[wall.count / 2] }
    var best: Double { wall.min()! }
    var cpuMedian: Double { cpu.sorted()[cpu.count / 2] }
}

/// Peak resident memory of this process in MiB (Linux), for the extreme-aspect check.
func peakRSSMiB() -> String {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return "?" }
    return String(format: "%.0f", kb / 1024)
}

if extreme > 0 {
    // `--extreme H`: a 1 x H strip (e.g. 20,000,000), whose spec intermediate would be
    // H x 360 x 3 bytes; NHCore streams it instead.
    let strip = try RGB8Image(width: 1, height: extreme, pixels: splitmixBytes(seed: 1, count: extreme * 3))
    let before = peakRSSMiB()
    var out: RGB8Image?
    let t = wallMs { out = BicubicResize.resize(strip) }
    print(String(format: "resize 1x%d -> 360x360: %.0f ms; peak RSS %@ MiB before, %@ MiB after (input %.0f MiB; the unstreamed intermediate would be %.0f MiB); sha256 %@",
                 extreme, t, before, peakRSSMiB(), Double(extreme * 3) / 1048576, Double(extreme) * 1080 / 1048576, out!.sha256))
    exit(0)
}

let seed: UInt64 = 0x6e68_6b69_74   // "nhkit"
let bytes = splitmixBytes(seed: seed, count: 4032 * 3024 * 3)
let inputs = [("4032x3024 (landscape)", try RGB8Image(width: 4032, height: 3024, pixels: bytes)),
              ("3024x4032 (portrait)", try RGB8Image(width: 3024, height: 4032, pixels: bytes))]
var results: [Result] = []
for (label, image) in inputs {
    var r = Result(label: label)
    r.digest = BicubicResize.resize(image).sha256   // warm-up and output check
    for _ in 0..<runs {
        var w = 0.0
        let c0 = threadCPUms()
        w = wallMs { _ = BicubicResize.resize(image) }
        r.cpu.append(threadCPUms() - c0)
        r.wall.append(w)
    }
    results.append(r)
    print(String(format: "resize %@ -> 360x360: wall median %.1f ms, min %.1f ms; thread CPU median %.1f ms; %d runs; sha256 %@",
                 label, r.median, r.best, r.cpuMedian, runs, r.digest))
}
let coeff = (0..<runs).map { _ in
    wallMs {
        _ = BicubicResize.coefficients(inSize: 4032, outSize: 360)
        _ = BicubicResize.coefficients(inSize: 3024, outSize: 360)
    }
}.sorted()[runs / 2]
print(String(format: "coefficient tables (4032->360 and 3024->360): %.2f ms", coeff))

#if DEBUG
let config = "debug (-Onone): not the configuration the budget is for"
#else
let config = "release (-O)"
#endif

if let outPath {
    let cpuName = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
        .split(separator: "\n").first { $0.hasPrefix("model name") }?
        .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
    let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
    func f(_ x: Double) -> String { String(format: "%.1f", x) }
    func verdict(_ r: Result) -> String {
        if r.median <= 150 { return "ok" }
        return r.cpuMedian <= 150 ? "ok by CPU time (wall over: machine busy)" : "OVER"
    }
    var md = """
    # iOS bridge (NHCore) resize benchmark

    `benchmarks/ios_resize.sh` = `NHBench --runs \(runs)` (release build of the root package; one core / two: `taskset -c 0` / `taskset -c 0,1`):
    NHCore's exact nh-spec-v1 step 3 (`BicubicResize.resize`: coefficient tables, horizontal pass,
    clip to 8 bits, vertical pass) on a SplitMix64 RGB8 buffer (seed `0x\(String(seed, radix: 16))`), one thread,
    \(config) build, after one warm-up run; \(runs) timed runs each. Budget (issue 8): at most 150 ms
    for 4032x3024.

    Machine: \(cpuName), \(ProcessInfo.processInfo.activeProcessorCount) CPUs visible, shared with other jobs (load average at the end: \(load)).
    Wall time depends on what else the shared CPUs run; thread CPU time is the cost of the work.

    | input | wall median ms | wall min ms | CPU median ms | budget (150 ms) | output sha256 |
    |---|---|---|---|---|---|

    """
    for r in results {
        md += "| \(r.label) -> 360x360 | \(f(r.median)) | \(f(r.best)) | \(f(r.cpuMedian)) | \(verdict(r)) | `\(r.digest.prefix(16))...` |\n"
    }
    md += "| coefficient tables only (4032->360 and 3024->360) | \(String(format: "%.2f", coeff)) | - | - | - | - |\n"
    try md.write(toFile: outPath, atomically: true, encoding: .utf8)
    print("wrote \(outPath)")
}
