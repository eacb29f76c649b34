// NHPipelineBench: times NHCore's pipeline (spec steps 2-7: orient, exact resize, normalise, the
// real LiteRT model through NHLiteRT, projections, bits) per image on decoded RGB8 inputs, and
// writes every image's outputs so benchmarks/ios_pipeline.sh can compare them byte for byte with
// the Python reference on the same inputs. Not a test.
//   NHPipelineBench --bundle B --inputs DIR --runs N --tasks T --out OUT.json
// DIR/index.json: [{"file": "000.rgb", "width": W, "height": H}], each file W*H*3 RGB8 bytes,
// already decoded and oriented upright (the same bytes the Python reference hashes).
import Foundation
import NHCore
import NHLiteRT

struct InputEntry: Codable { let file: String; let width: Int; let height: Int }
struct Output: Codable {
    let file: String
    let resizedSHA256: String
    let embedding: [String]
    let hash: String
}
struct Report: Codable {
    let bundle: String
    let runtime: DeviceReport.Runtime
    let tasks: Int
    let runs: Int
    let images: Int
    /// Wall milliseconds per image of each run (all images / count).
    let msPerImage: [Double]
    let outputs: [Output]
}

var bundlePath = "", inputsPath = "", outPath = "", runs = 3, tasks = 1
var args = Array(CommandLine.arguments.dropFirst())
while let a = args.first {
    args.removeFirst()
    guard let v = args.first else { break }
    args.removeFirst()
    switch a {
    case "--bundle": bundlePath = v
    case "--inputs": inputsPath = v
    case "--out": outPath = v
    case "--runs": runs = max(1, Int(v) ?? 3)
    case "--tasks": tasks = max(1, Int(v) ?? 1)
    default: break
    }
}
guard !bundlePath.isEmpty, !inputsPath.isEmpty, !outPath.isEmpty else {
    FileHandle.standardError.write(Data("usage: NHPipelineBench --bundle B --inputs DIR --out OUT.json [--runs N] [--tasks T]\n".utf8))
    exit(2)
}

do {
    let bundle = try NHBundle(url: URL(fileURLWithPath: bundlePath))
    let engines = try (0..<tasks).map { _ in try LiteRTEngine(bundle: bundle) }   // one engine per task
    let pipelines = try engines.map { try HashPipeline(bundle: bundle, engine: $0) }
    let dir = URL(fileURLWithPath: inputsPath)
    let index = try JSONDecoder().decode([InputEntry].self, from: Data(contentsOf: dir.appendingPathComponent("index.json")))
    let images = try index.map { e in
        try RGB8Image(width: e.width, height: e.height, pixels: [UInt8](Data(contentsOf: dir.appendingPathComponent(e.file))))
    }
    var results = [HashResult?](repeating: nil, count: images.count)
    var perImage: [Double] = []
    let lock = NSLock()
    for _ in 0..<runs {
        var failure: Error?
        let t0 = DispatchTime.now().uptimeNanoseconds
        // `tasks` threads, each with its own engine, take images from a shared counter.
        var next = 0
        DispatchQueue.concurrentPerform(iterations: tasks) { worker in
            while true {
                lock.lock(); let i = next; next += 1; lock.unlock()
                if i >= images.count { return }
                do {
                    let r = try pipelines[worker].hash(image: images[i], orientation: 1)
                    lock.lock(); results[i] = r; lock.unlock()
                } catch {
                    lock.lock(); failure = error; lock.unlock()
                }
            }
        }
        if let failure { throw failure }
        perImage.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6 / Double(images.count))
    }
    // Untimed: the resized bytes' digest for the byte-for-byte comparison of stage 3.
    let outputs = zip(index, zip(images, results)).map { e, pair in
        Output(file: e.file, resizedSHA256: BicubicResize.resize(pair.0, width: 360, height: 360).sha256,
               embedding: FloatHex.encode(pair.1!.embedding), hash: pair.1!.hash.hex)
    }
    let report = Report(bundle: bundle.manifest.bundleID, runtime: engines[0].runtimeInfo, tasks: tasks, runs: runs,
                        images: images.count, msPerImage: perImage, outputs: outputs)
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    try enc.encode(report).write(to: URL(fileURLWithPath: outPath), options: .atomic)
    let sorted = perImage.sorted()
    print("swift \(bundle.manifest.bundleID) tasks=\(tasks): median \(String(format: "%.1f", sorted[sorted.count / 2])) ms/image over \(images.count) images")
} catch {
    FileHandle.standardError.write(Data("NHPipelineBench: \(error)\n".utf8))
    exit(1)
}
