import Foundation
import XCTest
@testable import NHCore

/// NHCore against every file of the shared conformance vectors (tests/vectors/*.json).
final class VectorTests: XCTestCase {
    /// The files this suite checks. A new vector file must be added here (the coverage test fails
    /// otherwise), so nothing in tests/vectors/ goes unchecked by the Swift implementation.
    static let handled: Set<String> = [
        "hamming.json", "hex.json", "match_lists.json", "match_search.json", "normalise.json", "orientation.json", "projection.json",
        "resize.json", "resize_coefficients.json", "seed.json", "tensor.json",
    ]

    func testEveryVectorFileIsChecked() throws {
        guard FileManager.default.fileExists(atPath: vectorsDir.path) else {
            return XCTFail("vector directory \(vectorsDir.path) is missing")
        }
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: vectorsDir.path).filter { $0.hasSuffix(".json") })
        XCTAssertEqual(present.subtracting(Self.handled).sorted(), [], "vector files the Swift suite does not check yet")
        XCTAssertEqual(Self.handled.subtracting(present).sorted(), [], "vector files missing from tests/vectors/")
    }

    /// Runs `body` for every test of `name`, attributing failures to the test case, and checks
    /// that every test was run.
    private func run(_ name: String, _ body: (VectorFile.Test) throws -> Void) throws {
        let file = try VectorFile.load(name)
        XCTAssertGreaterThan(file.tests.count, 0, "\(name) has no tests")
        var ran = 0
        for t in file.tests {
            do {
                try body(t)
            } catch {
                XCTFail("\(name) \(t.label): \(error)")
            }
            ran += 1
        }
        XCTAssertEqual(ran, file.numberOfTests)
    }

    private func expectThrows(_ name: String, _ t: VectorFile.Test, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("\(name) \(t.label): expected an error, got none")
        } catch is NHError {
            // expected
        } catch {
            XCTFail("\(name) \(t.label): expected an NHError, got \(error)")
        }
    }

    func testHamming() throws {
        try run("hamming.json") { t in
            let d = try NeuralHash96.hamming(t.input.string("a"), t.input.string("b"))
            XCTAssertEqual(d, try t.expected.int("distance"), t.label)
        }
    }

    func testHex() throws {
        try run("hex.json") { t in
            let text = try t.input.string("hex")
            if !t.valid {
                return expectThrows("hex.json", t) { _ = try NeuralHash96(hex: text) }
            }
            let h = try NeuralHash96(hex: text)
            XCTAssertEqual(h.hex, try t.expected.string("hex"), t.label)
            XCTAssertEqual(String(h.bits.map { $0 ? "1" : "0" }), try t.expected.string("bits"), t.label)
            XCTAssertEqual(NeuralHash96(bits: h.bits), h, t.label)
        }
    }

    func testNormalise() throws {
        var seen = Set<Int>()
        try run("normalise.json") { t in
            let v = try t.input.int("value")
            seen.insert(v)
            XCTAssertEqual(FloatHex.encode(Normalise.table[v]), try t.expected.string("float32"), t.label)
            // The spec's arithmetic written out, not the table, must agree too.
            let direct = ((Float(v) / Float(255)) * Float(2)) - Float(1)
            XCTAssertEqual(direct.bitPattern, Normalise.table[v].bitPattern, t.label)
        }
        XCTAssertEqual(seen, Set(0..<256), "normalise.json must cover all 256 values")
    }

    func testTensor() throws {
        try run("tensor.json") { t in
            let img = try vectorImage(t.input)
            let nchw = Normalise.nchw(img)
            let nhwc = Normalise.nhwc(img)
            XCTAssertEqual(Normalise.digest(nchw), try t.expected.string("sha256_nchw"), t.label)
            XCTAssertEqual(Normalise.digest(nhwc), try t.expected.string("sha256_nhwc"), t.label)
            XCTAssertEqual(Normalise.nchwToNHWC(nchw, height: img.height, width: img.width), nhwc, t.label)
            XCTAssertEqual(Normalise.nhwcToNCHW(nhwc, height: img.height, width: img.width), nchw, t.label)
            for s in t.expected["samples_nchw"] as? [[Any]] ?? [] {
                let c = s[0] as! Int, y = s[1] as! Int, x = s[2] as! Int, bits = s[3] as! String
                XCTAssertEqual(FloatHex.encode(nchw[(c * img.height + y) * img.width + x]), bits, "\(t.label) sample \(s)")
            }
        }
    }

    func testOrientation() throws {
        try run("orientation.json") { t in
            let img = try vectorImage(t.input)
            let out = ExifOrientation(tag: try t.input.int("orientation")).apply(to: img)
            XCTAssertEqual(out.width, try t.expected.int("width"), t.label)
            XCTAssertEqual(out.height, try t.expected.int("height"), t.label)
            XCTAssertEqual(out.sha256, try t.expected.string("sha256"), t.label)
            if let px = t.expected["pixels"] as? [Int] {
                XCTAssertEqual(out.pixels, px.map { UInt8($0) }, t.label)
            }
        }
    }

    func testResizeCoefficients() throws {
        try run("resize_coefficients.json") { t in
            XCTAssertEqual(t.params["precision_bits"] as? Int, BicubicResize.precisionBits)
            let c = BicubicResize.coefficients(inSize: try t.input.int("n_in"), outSize: try t.input.int("n_out"))
            guard let bounds = t.expected["bounds"] as? [[Int]], let coeffs = t.expected["coefficients"] as? [[Int]] else {
                throw VectorError(description: "malformed expected")
            }
            XCTAssertEqual(bounds.count, c.outSize, t.label)
            XCTAssertEqual(coeffs.count, c.outSize, t.label)
            var mismatches = 0
            for o in 0..<min(bounds.count, c.outSize) {
                if bounds[o] != [c.xmin[o], c.count[o]] || coeffs[o] != c.taps(o).map(Int.init) {
                    if mismatches < 3 {
                        XCTFail("\(t.label) output \(o): expected \(bounds[o]) \(coeffs[o]), got [\(c.xmin[o]), \(c.count[o])] \(Array(c.taps(o)))")
                    }
                    mismatches += 1
                }
            }
            XCTAssertEqual(mismatches, 0, "\(t.label): outputs with wrong coefficients")
        }
    }

    func testResize() throws {
        try run("resize.json") { t in
            let img = try vectorImage(t.input)
            let out = BicubicResize.resize(img, width: 360, height: 360)
            XCTAssertEqual(out.width, try t.expected.int("width"), t.label)
            XCTAssertEqual(out.height, try t.expected.int("height"), t.label)
            XCTAssertEqual(out.sha256, try t.expected.string("sha256"), t.label)
            for s in t.expected["samples"] as? [[Int]] ?? [] {
                let i = (s[0] * out.width + s[1]) * 3
                XCTAssertEqual(out.pixels[i..<(i + 3)].map(Int.init), Array(s[2...4]), "\(t.label) sample \(s)")
            }
            if img.width == 360 && img.height == 360 {
                XCTAssertEqual(out, img, "\(t.label): a 360x360 input must be returned unchanged")
            }
            // The per-output taps path (used for axes too long for a table) gives the same bytes.
            let onDemand = BicubicResize.resize(img, width: 360, height: 360, tableLimit: 0)
            XCTAssertEqual(onDemand.sha256, try t.expected.string("sha256"), "\(t.label) (taps per output)")
        }
    }

    func testProjection() throws {
        try run("projection.json") { t in
            guard let seedHex = t.params["seed_f32"] as? String, let seedBytes = Hex.decode(seedHex),
                  let margin = (t.params["fragile_margin"] as? NSNumber)?.doubleValue else {
                throw VectorError(description: "group params need seed_f32 and fragile_margin")
            }
            let seed = try Seed(data: Data(seedBytes), source: "projection.json seed_f32")
            let embedding = try FloatHex.float32s(t.input.strings("embedding"), what: "embedding")
            if !t.valid {
                return expectThrows("projection.json", t) {
                    let p = try Projection.project(seed: seed, embedding: embedding)
                    _ = try Projection.hash(projections: p)
                }
            }
            let p = try Projection.project(seed: seed, embedding: embedding)
            let expected = try t.expected.strings("projections")
            XCTAssertEqual(FloatHex.encode(p), expected, t.label)
            XCTAssertEqual(try Projection.hash(projections: p).hex, try t.expected.string("hash"), t.label)
            XCTAssertEqual(try Projection.fragileMask(projections: p, margin: margin).hex, try t.expected.string("fragile"), t.label)
        }
    }

    func testSeed() throws {
        try run("seed.json") { t in
            var data = [UInt8]()
            if t.input["has_header"] as? Bool == true {
                data += try prngBytes(t.input.object("header_prng"), count: 128)
            }
            let m = try t.input.object("matrix_prng")
            guard try m.string("algorithm") == "splitmix64", var state = UInt64(try m.string("seed"), radix: 16) else {
                throw VectorError(description: "bad matrix_prng")
            }
            var values = (0..<(Seed.rows * Seed.cols)).map { _ in Float(Double(splitmixWord(&state) >> 40) / Double(1 << 23) - 1.0) }
            if let poison = t.input["poison"] as? [String: Any] {
                values[try poison.int("index")] = try FloatHex.float32(poison.string("float32"))
            }
            for v in values { data += UInt64(v.bitPattern).littleEndianBytes.prefix(4) }
            let length = try t.input.int("length")
            data = length <= data.count ? Array(data.prefix(length)) : data + [UInt8](repeating: 0, count: length - data.count)
            // Through a real file, as apps load it.
            let dir = try makeTempDir(self)
            let url = dir.appendingPathComponent("seed-\(t.tcId).bin")
            try Data(data).write(to: url)
            if !t.valid {
                do {
                    _ = try Seed(contentsOf: url)
                    XCTFail("seed.json \(t.label): expected an error")
                } catch let NHError.seedFile(path, _) {
                    XCTAssertEqual(path, url.path, "the error must name the file")
                }
                return
            }
            let seed = try Seed(contentsOf: url)
            XCTAssertEqual(seed.sha256, try t.expected.string("sha256"), t.label)
            for s in t.expected["samples"] as? [[Any]] ?? [] {
                let r = s[0] as! Int, c = s[1] as! Int
                XCTAssertEqual(FloatHex.encode(seed.values[r * Seed.cols + c]), s[2] as? String, "\(t.label) sample \(s)")
            }
        }
    }
}
