// NHMatchBench: one thread querying NHCore's HashMatcher over the list that
// benchmarks/match_bridge_list.py writes (10^5 distinct hashes), at T = 8, 12, 16, 24 (issue 11,
// section 6: one query over 10^5 hashes < 2 ms on one core). Not a test. Run through
// benchmarks/match_bridges.sh, or
//     swift run -c release --package-path ios_bridge NHMatchBench --list DIR --queries FILE [--out FILE.md]
// Every timed result of the first --check queries is compared with a naive per-entry scan.
import Foundation
import NHCore

var listPath: String?, queriesPath: String?, outPath: String?
var check = 200
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let a = args.removeFirst()
    switch (a, args.first) {
    case ("--list", let v?): listPath = v; args.removeFirst()
    case ("--queries", let v?): queriesPath = v; args.removeFirst()
    case ("--out", let v?): outPath = v; args.removeFirst()
    case ("--check", let v?): check = Int(v) ?? check; args.removeFirst()
    default:
        FileHandle.standardError.write(Data("usage: NHMatchBench --list DIR --queries FILE [--out FILE.md] [--check N]\n".utf8))
        exit(2)
    }
}
guard let listPath, let queriesPath else {
    FileHandle.standardError.write(Data("usage: NHMatchBench --list DIR --queries FILE [--out FILE.md] [--check N]\n".utf8))
    exit(2)
}

/// CPU time of this thread (on a shared machine wall time includes time spent descheduled).
func threadCPUms() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) * 1e3 + Double(ts.tv_nsec) / 1e6
}

func nowMs() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

do {
    let queries: [(NeuralHash96, NeuralHash96)] = try String(contentsOfFile: queriesPath, encoding: .utf8)
        .split(separator: "\n").map { line in
            let p = line.split(separator: " ")
            return (try NeuralHash96(hex: String(p[0])), try NeuralHash96(hex: String(p[1])))
        }
    let w0 = nowMs(), c0 = threadCPUms()
    let matcher = try HashMatcher(contentsOf: URL(fileURLWithPath: listPath))
    let loadMs = nowMs() - w0, loadCPU = threadCPUms() - c0
    let list = matcher.list
    print(String(format: "loaded %@: %d entries, %d distinct hashes in %.0f ms wall, %.0f ms CPU (all files verified)",
                 listPath, list.count, list.hashCount, loadMs, loadCPU))

    var rows: [String] = []
    var checked = 0, mismatches = 0
    for t in [8, 12, 16, 24] {
        for _ in 0..<2 { for q in queries { _ = try matcher.search(q.0, fragile: q.1, threshold: t) } }
        var ms: [Double] = []
        var results: [[HashMatch]] = []
        var hits = 0
        let cpu0 = threadCPUms(), wall0 = nowMs()
        for q in queries {
            let s = nowMs()
            let r = try matcher.search(q.0, fragile: q.1, threshold: t)
            ms.append(nowMs() - s)
            hits += r.count
            results.append(r)
        }
        let wall = nowMs() - wall0, cpu = threadCPUms() - cpu0
        for i in 0..<min(check, queries.count) {
            checked += 1
            var naive: [(Int, Int)] = []
            for (e, entry) in list.entries.enumerated() {
                let d = queries[i].0.hamming(entry.hash)
                if d <= t { naive.append((d, e)) }
            }
            naive.sort { $0 < $1 }
            if naive.map({ "\($0.0)/\($0.1)" }) != results[i].map({ "\($0.distance)/\($0.entry)" }) { mismatches += 1 }
        }
        ms.sort()
        let p99 = ms[min(ms.count - 1, Int((Double(ms.count) * 0.99).rounded(.up)) - 1)]
        let row = String(format: "| %d | %d | %.3f | %.3f | %.3f | %.0f | %.1f |", t, queries.count, ms[ms.count / 2], p99,
                         cpu / Double(queries.count), Double(queries.count) / (wall / 1e3), Double(hits) / Double(queries.count))
        print(row)
        rows.append(row)
    }
    let exact = mismatches == 0
        ? "exact: \(checked)/\(checked) checked results equal a naive per-entry scan (hits, distances, order)"
        : "NOT EXACT: \(mismatches) of \(checked) checked results differ from a naive per-entry scan"
    print(exact)
    if let outPath {
        var md = "# Swift NHCore matcher: one query over 10^5 hashes\n\n"
        md += "`benchmarks/match_bridges.sh` (NHMatchBench, release build): `HashMatcher.search` on one thread (pinned to one core "
        md += "with taskset when available), over the list `benchmarks/match_bridge_list.py` writes with nhkit's writer: "
        md += "\(list.count) entries, \(list.hashCount) distinct hashes (half random, half clusters of near duplicates), fragile "
        md += "masks on both sides. \(queries.count) queries: half near duplicates of listed hashes, half random. Two warm-up "
        md += "passes per threshold, then one timed pass. Swift on Linux (swift-corelibs-foundation).\n\n"
        md += String(format: "Load (read + verify every file's sha256 + parse %d entries), once per app start: %.0f ms wall, %.0f ms thread CPU.\n\n",
                     list.count, loadMs, loadCPU)
        md += "| T | queries | median ms/query | p99 ms/query | CPU ms/query (mean) | queries/s | hits/query |\n|---|---|---|---|---|---|---|\n"
        md += rows.joined(separator: "\n") + "\n"
        md += "\nGoal (issue 11, section 6): one query over 10^5 hashes < 2 ms on one core. \(exact).\n"
        md += "Wall-time percentiles include time the thread spent descheduled on this shared 2-core machine; CPU ms/query is "
        md += "the cost of the work itself.\n"
        try md.write(toFile: outPath, atomically: true, encoding: .utf8)
        print("wrote \(outPath)")
    }
} catch {
    FileHandle.standardError.write(Data("NHMatchBench: \(error)\n".utf8))
    exit(1)
}
