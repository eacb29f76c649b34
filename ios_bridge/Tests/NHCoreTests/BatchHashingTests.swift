import Foundation
import XCTest
@testable import NHCore

/// `HashPipeline.hash(files:...)`: order, per-file failures, cancellation, concurrency.
final class BatchHashingTests: XCTestCase {
    /// Test files: 8 bytes of little-endian width and height, then RGB8 samples.
    struct RawRGBDecoder: ImageFileDecoding, Sendable {
        func decode(contentsOf url: URL, maxPixels: Int) throws -> DecodedImage {
            let b = [UInt8](try Data(contentsOf: url))
            guard b.count >= 8 else { throw NHError.imageDecode(path: url.path, reason: "too short") }
            let w = Int(b[0]) | Int(b[1]) << 8 | Int(b[2]) << 16 | Int(b[3]) << 24
            let h = Int(b[4]) | Int(b[5]) << 8 | Int(b[6]) << 16 | Int(b[7]) << 24
            guard w * h <= maxPixels else { throw NHError.imageDecode(path: url.path, reason: "too many pixels") }
            return DecodedImage(image: try RGB8Image(width: w, height: h, pixels: Array(b[8...])), orientation: nil)
        }
    }

    /// A deterministic engine (a fixed linear map of the tensor) that counts its calls and can
    /// run a hook on each; thread-safe.
    final class LinearEngine: EmbeddingEngine, @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        var onCall: ((Int) -> Void)?
        var calls: Int { lock.lock(); defer { lock.unlock() }; return count }
        var runtimeInfo: DeviceReport.Runtime { .init(name: "linear-test", version: "1", computeUnit: "cpu") }
        func embed(_ tensor: [Float]) throws -> [Float] {
            lock.lock(); count += 1; let n = count; lock.unlock()
            onCall?(n)
            var out = [Float](repeating: 0, count: 128)
            for (i, v) in tensor.enumerated() { out[i % 128] += v * Float(1 + i % 7) }
            return out
        }
    }

    func makeFiles(_ n: Int) throws -> [URL] {
        let dir = try makeTempDir(self)
        return try (0..<n).map { i in
            let w = 17 + i, h = 11 + 2 * i
            var b: [UInt8] = [UInt8(w), 0, 0, 0, UInt8(h), 0, 0, 0]
            b += splitmixBytes(seed: UInt64(i + 1), count: w * h * 3)
            let url = dir.appendingPathComponent("img\(i).raw")
            try Data(b).write(to: url)
            return url
        }
    }

    func pipeline(_ engine: EmbeddingEngine) throws -> HashPipeline {
        let seed = try Seed(values: (0..<(96 * 128)).map { Float(($0 * 37) % 101) / 50 - 1 })
        return try HashPipeline(spec: NHSpec(), seed: seed, engine: engine)
    }

    func testBatchKeepsOrderReportsBadFilesAndMatchesSequentialHashing() async throws {
        var files = try makeFiles(5)
        let missing = files[0].deletingLastPathComponent().appendingPathComponent("missing.raw")
        files.insert(missing, at: 2)
        let p = try pipeline(LinearEngine())
        let items = try await p.hash(files: files, decoder: RawRGBDecoder(), maxConcurrentTasks: 3)
        XCTAssertEqual(items.map(\.url), files)
        for (url, item) in zip(files, items) {
            if url == missing {
                guard case .failure(let e) = item.result else { return XCTFail("a missing file must fail") }
                XCTAssertTrue(e.description.contains("missing.raw"), e.description)
            } else {
                XCTAssertEqual(item.hash, p.hashOne(url, decoder: RawRGBDecoder()).hash)
                XCTAssertNotNil(item.hash)
            }
        }
    }

    func testConcurrentBatchesOnOneSharedPipelineAgree() async throws {
        let files = try makeFiles(6)
        let p = try pipeline(LinearEngine())
        let expected = files.map { p.hashOne($0, decoder: RawRGBDecoder()).hash }
        let runs = try await withThrowingTaskGroup(of: [NeuralHash96?].self) { group in
            for width in 1...4 { group.addTask { try await p.hash(files: files, decoder: RawRGBDecoder(), maxConcurrentTasks: width).map(\.hash) } }
            var all: [[NeuralHash96?]] = []
            for try await r in group { all.append(r) }
            return all
        }
        XCTAssertEqual(runs.count, 4)
        for r in runs { XCTAssertEqual(r, expected) }
    }

    func testCancellationStopsTheBatch() async throws {
        let files = try makeFiles(8)
        let engine = LinearEngine()
        let p = try pipeline(engine)
        let started = expectation(description: "first file reached the model")
        let gate = DispatchSemaphore(value: 0)
        engine.onCall = { n in if n == 1 { started.fulfill(); gate.wait() } }
        let task = Task { try await p.hash(files: files, decoder: RawRGBDecoder(), maxConcurrentTasks: 1) }
        await fulfillment(of: [started], timeout: 60)
        task.cancel()
        gate.signal()
        do {
            _ = try await task.value
            XCTFail("a cancelled batch must throw CancellationError")
        } catch is CancellationError {
        }
        XCTAssertEqual(engine.calls, 1, "no file may start after cancellation")
    }
}
