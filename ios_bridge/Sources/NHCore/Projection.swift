/// Spec steps 6-7: embedding + seed -> 96 projections (binary64, index order) -> bits -> hash,
/// plus the fragile mask. Exact functions of the embedding, identical in every language.
public enum Projection {
    public static let embeddingDim = 128

    /// `p[i] = p[i] + Double(S[i][j]) * Double(e[j])` for j = 0..127 in order. The product of two
    /// binary32 values is exact in binary64, so only the order of the additions matters.
    /// A NaN or infinite projection is an error, not a bit.
    public static func project(seed: Seed, embedding: [Float]) throws -> [Double] {
        guard embedding.count == embeddingDim else {
            throw NHError.invalidEmbedding("expected \(embeddingDim) values, got \(embedding.count)")
        }
        var p = [Double](repeating: 0, count: Seed.rows)
        seed.values.withUnsafeBufferPointer { s in
            embedding.withUnsafeBufferPointer { e in
                for i in 0..<Seed.rows {
                    var acc = 0.0
                    let row = i * Seed.cols
                    for j in 0..<Seed.cols {
                        acc = acc + Double(s[row + j]) * Double(e[j])
                    }
                    p[i] = acc
                }
            }
        }
        if let bad = p.firstIndex(where: { !$0.isFinite }) {
            throw NHError.nonFiniteProjection(index: bad)
        }
        return p
    }

    /// bit i = 1 iff p[i] >= 0.0 (so -0.0 gives 1). NaN is an error.
    public static func hash(projections p: [Double]) throws -> NeuralHash96 {
        guard p.count == NeuralHash96.bitCount else {
            throw NHError.invalidEmbedding("expected \(NeuralHash96.bitCount) projections, got \(p.count)")
        }
        if let bad = p.firstIndex(where: { $0.isNaN }) { throw NHError.nonFiniteProjection(index: bad) }
        return NeuralHash96(bits: p.map { $0 >= 0.0 })
    }

    /// Bit i is fragile when |p[i]| < margin (same bit order as the hash).
    public static func fragileMask(projections p: [Double], margin: Double) throws -> NeuralHash96 {
        guard margin >= 0.0 else { throw NHError.specMismatch("fragile margin must be >= 0, got \(margin)") }
        guard p.count == NeuralHash96.bitCount else {
            throw NHError.invalidEmbedding("expected \(NeuralHash96.bitCount) projections, got \(p.count)")
        }
        return NeuralHash96(bits: p.map { abs($0) < margin })
    }
}
