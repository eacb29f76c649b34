import Foundation
#if canImport(CryptoKit)
import CryptoKit
#endif

/// SHA-256 (FIPS 180-4), streaming. Foundation on Linux has no CryptoKit, so NHCore carries its
/// own implementation; it is checked against the NIST example vectors in the tests. On Apple
/// platforms `SHA256Digest` uses CryptoKit (faster), and the tests check both agree. Internal:
/// apps hash through `SHA256Digest`, the one public digest API.
struct NHSHA256: Sendable {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var buffered = 0
    private var totalBytes: UInt64 = 0
    private var finished = false

    init() {}

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    /// Compresses `blocks` consecutive 64-byte blocks starting at `p`. Written with raw pointers
    /// and explicit rotations so it is also tolerably fast in unoptimised (debug) builds.
    private mutating func compress(_ p: UnsafePointer<UInt8>, blocks: Int) {
        let w = UnsafeMutablePointer<UInt32>.allocate(capacity: 64)
        defer { w.deallocate() }
        Self.k.withUnsafeBufferPointer { kBuf in
            let kp = kBuf.baseAddress!
            var (h0, h1, h2, h3, h4, h5, h6, h7) = h
            var blk = p
            for _ in 0..<blocks {
                var t = 0
                while t < 16 {
                    let q = blk + t &* 4
                    w[t] = UInt32(q[0]) &<< 24 | UInt32(q[1]) &<< 16 | UInt32(q[2]) &<< 8 | UInt32(q[3])
                    t += 1
                }
                while t < 64 {
                    let x = w[t - 15], y = w[t - 2]
                    let s0 = (x &>> 7 | x &<< 25) ^ (x &>> 18 | x &<< 14) ^ (x &>> 3)
                    let s1 = (y &>> 17 | y &<< 15) ^ (y &>> 19 | y &<< 13) ^ (y &>> 10)
                    w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
                    t += 1
                }
                var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7
                t = 0
                while t < 64 {
                    let S1 = (e &>> 6 | e &<< 26) ^ (e &>> 11 | e &<< 21) ^ (e &>> 25 | e &<< 7)
                    let ch = (e & f) ^ (~e & g)
                    let t1 = hh &+ S1 &+ ch &+ kp[t] &+ w[t]
                    let S0 = (a &>> 2 | a &<< 30) ^ (a &>> 13 | a &<< 19) ^ (a &>> 22 | a &<< 10)
                    let maj = (a & b) ^ (a & c) ^ (b & c)
                    hh = g; g = f; f = e; e = d &+ t1
                    d = c; c = b; b = a; a = t1 &+ (S0 &+ maj)
                    t += 1
                }
                h0 = h0 &+ a; h1 = h1 &+ b; h2 = h2 &+ c; h3 = h3 &+ d
                h4 = h4 &+ e; h5 = h5 &+ f; h6 = h6 &+ g; h7 = h7 &+ hh
                blk += 64
            }
            h = (h0, h1, h2, h3, h4, h5, h6, h7)
        }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        precondition(!finished, "NHSHA256.update after finalize")
        guard var p = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { return }
        var n = bytes.count
        totalBytes &+= UInt64(n)
        if buffered > 0 {
            let take = min(64 - buffered, n)
            for i in 0..<take { buffer[buffered + i] = p[i] }
            buffered += take; p += take; n -= take
            if buffered == 64 {
                buffer.withUnsafeBufferPointer { compress($0.baseAddress!, blocks: 1) }
                buffered = 0
            }
        }
        if n >= 64 {
            let blocks = n / 64
            compress(p, blocks: blocks)
            p += blocks * 64; n -= blocks * 64
        }
        for i in 0..<n { buffer[buffered + i] = p[i] }
        buffered += n
    }

    mutating func update<D: ContiguousBytes>(_ data: D) {
        data.withUnsafeBytes { update($0) }
    }

    /// Pads, finishes and returns the 32-byte digest. The hasher cannot be used afterwards.
    mutating func finalize() -> [UInt8] {
        precondition(!finished, "NHSHA256.finalize called twice")
        let bitLength = totalBytes &* 8
        var tail = [UInt8](repeating: 0, count: buffered < 56 ? 64 : 128)
        for i in 0..<buffered { tail[i] = buffer[i] }
        tail[buffered] = 0x80
        for i in 0..<8 { tail[tail.count - 1 - i] = UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i))) }
        tail.withUnsafeBufferPointer { compress($0.baseAddress!, blocks: tail.count / 64) }
        finished = true
        var out = [UInt8]()
        out.reserveCapacity(32)
        for word in [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7] {
            out.append(UInt8(word >> 24)); out.append(UInt8(truncatingIfNeeded: word >> 16))
            out.append(UInt8(truncatingIfNeeded: word >> 8)); out.append(UInt8(truncatingIfNeeded: word))
        }
        return out
    }

    /// One-shot digest with this implementation (used on every platform by the tests).
    static func digest<D: ContiguousBytes>(_ data: D) -> [UInt8] {
        var s = NHSHA256()
        s.update(data)
        return s.finalize()
    }
}

/// The digest function NHCore uses everywhere (stage digests, bundle checksums).
public enum SHA256Digest {
    /// Lowercase hex sha256 of `data`.
    public static func hex<D: ContiguousBytes>(_ data: D) -> String {
        Hex.encode(bytes(data))
    }

    public static func bytes<D: ContiguousBytes>(_ data: D) -> [UInt8] {
        #if canImport(CryptoKit)
        return data.withUnsafeBytes { Array(CryptoKit.SHA256.hash(data: $0)) }
        #else
        return NHSHA256.digest(data)
        #endif
    }

    /// Streams a file in 1 MiB chunks (model files can be large) and returns its hex digest and
    /// size in bytes.
    public static func file(at url: URL) throws -> (hex: String, size: Int) {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var size = 0
        #if canImport(CryptoKit)
        var hasher = CryptoKit.SHA256()
        #else
        var hasher = NHSHA256()
        #endif
        while true {
            guard let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty else { break }
            size += chunk.count
            #if canImport(CryptoKit)
            hasher.update(data: chunk)
            #else
            hasher.update(chunk)
            #endif
        }
        #if canImport(CryptoKit)
        return (Hex.encode(Array(hasher.finalize())), size)
        #else
        return (Hex.encode(hasher.finalize()), size)
        #endif
    }
}

/// Lowercase hex for byte strings. Internal: NHCore's file readers use it; apps get hex from
/// `SHA256Digest.hex` and `NeuralHash96.hex`.
enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses an even-length hex string (either case); nil on anything else.
    static func decode(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = nibble(u[i]), let lo = nibble(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    @inline(__always)
    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x61...0x66: return c - 0x61 + 10
        case 0x41...0x46: return c - 0x41 + 10
        default: return nil
        }
    }
}
