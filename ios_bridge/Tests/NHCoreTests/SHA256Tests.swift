import Foundation
import XCTest
@testable import NHCore

final class SHA256Tests: XCTestCase {
    /// FIPS 180-4 / NIST example vectors.
    static let nist: [(String, String)] = [
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ]

    /// Padding boundaries: bytes (i*7+3) % 256 of length n, digests from Python's hashlib.
    static let boundaries: [(Int, String)] = [
        (1, "084fed08b978af4d7d196a7446a86b58009e636b611db16211b65a9aadff29c5"),
        (55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"),
        (56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"),
        (57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73"),
        (63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"),
        (64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"),
        (65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"),
        (119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"),
        (120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"),
        (127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"),
        (128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"),
        (129, "307f8fc2c1622b92762e818d39a185d4d667ad49a4b07ceae1f4afa008a93ec4"),
        (1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"),
        (4097, "225270fa091dc75bf959a0e3bbcb897fc3ae8e7fa128ae1394cf5614e15505f5"),
    ]

    static func pattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(($0 * 7 + 3) % 256) } }

    func testNISTVectors() {
        for (msg, digest) in Self.nist {
            XCTAssertEqual(Hex.encode(NHSHA256.digest(Array(msg.utf8))), digest, msg)
            XCTAssertEqual(SHA256Digest.hex(Array(msg.utf8)), digest, "platform digest: \(msg)")
        }
    }

    func testOneMillionA() {
        let digest = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        let million = [UInt8](repeating: 0x61, count: 1_000_000)
        XCTAssertEqual(Hex.encode(NHSHA256.digest(million)), digest)
        // The same through 1,000 updates of 1,000 bytes.
        var s = NHSHA256()
        for _ in 0..<1000 { s.update(Array(million[0..<1000])) }
        XCTAssertEqual(Hex.encode(s.finalize()), digest)
    }

    func testPaddingBoundaries() {
        for (n, digest) in Self.boundaries {
            XCTAssertEqual(Hex.encode(NHSHA256.digest(Self.pattern(n))), digest, "length \(n)")
        }
    }

    func testStreamingSplitsAgree() {
        let data = Self.pattern(4097)
        let whole = NHSHA256.digest(data)
        for chunk in [1, 3, 63, 64, 65, 100, 1000] {
            var s = NHSHA256()
            var i = 0
            while i < data.count {
                s.update(Array(data[i..<min(i + chunk, data.count)]))
                i += chunk
            }
            XCTAssertEqual(s.finalize(), whole, "chunk size \(chunk)")
        }
    }

    func testFileDigestStreamsAndCountsBytes() throws {
        let dir = try makeTempDir(self)
        let url = dir.appendingPathComponent("blob")
        // Over one 1 MiB chunk, so the chunked path is used.
        let data = Data(splitmixBytes(seed: 42, count: (1 << 20) + 12345))
        try data.write(to: url)
        let (hex, size) = try SHA256Digest.file(at: url)
        XCTAssertEqual(size, data.count)
        XCTAssertEqual(hex, Hex.encode(NHSHA256.digest(data)))
    }

    func testHexCodec() {
        XCTAssertEqual(Hex.encode([0x00, 0x0f, 0xa5, 0xff]), "000fa5ff")
        XCTAssertEqual(Hex.decode("000fA5ff"), [0x00, 0x0f, 0xa5, 0xff])
        XCTAssertNil(Hex.decode("abc"))
        XCTAssertNil(Hex.decode("zz"))
    }
}
