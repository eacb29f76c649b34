import Foundation

/// One file of a batch: its hash, or the error that file caused (a batch goes on past bad files).
public struct BatchItem: Sendable {
    public let url: URL
    public let result: Result<HashResult, NHError>

    public var hash: NeuralHash96? { try? result.get().hash }
}

extension HashPipeline {
    /// Hashes `urls` with Swift concurrency: decode (spec step 1 with `decoder`) and steps 2-7,
    /// at most `maxConcurrentTasks` files at a time, results in input order.
    ///
    /// - Cancellation: cancelling the calling task stops the batch; no new file is started once
    ///   `Task.isCancelled` is seen, and the call throws `CancellationError` (files already
    ///   running finish first; nothing is half-reported).
    /// - Bad input: a file that cannot be decoded or hashed becomes a failed `BatchItem` naming
    ///   the file; the others go on.
    /// - Thread safety: the pipeline is immutable; the engine must be safe to call from several
    ///   tasks (NHLiteRT's `LiteRTEngine` and NHKit's `CoreMLEngine` serialise inference with a
    ///   lock, so extra tasks overlap decoding and resizing, not the model).
    public func hash(files urls: [URL], decoder: ImageFileDecoding & Sendable,
                     maxPixels: Int = DecodeLimits.defaultMaxPixels, maxConcurrentTasks: Int = 2,
                     computeDigests: Bool = false) async throws -> [BatchItem] {
        let width = max(1, maxConcurrentTasks)
        var results = [BatchItem?](repeating: nil, count: urls.count)
        try await withThrowingTaskGroup(of: (Int, BatchItem).self) { group in
            var next = 0
            func startNext() throws {
                try Task.checkCancellation()
                let i = next, url = urls[i]
                next += 1
                group.addTask { (i, self.hashOne(url, decoder: decoder, maxPixels: maxPixels, computeDigests: computeDigests)) }
            }
            while next < urls.count && next < width { try startNext() }
            while let (i, item) = try await group.next() {
                results[i] = item
                if next < urls.count { try startNext() }
            }
        }
        try Task.checkCancellation()
        return results.map { $0! }
    }

    /// One file, synchronously; every failure becomes a failed item naming the file.
    public func hashOne(_ url: URL, decoder: ImageFileDecoding, maxPixels: Int = DecodeLimits.defaultMaxPixels,
                        computeDigests: Bool = false) -> BatchItem {
        do {
            var clock = StageClock()
            let decoded = try decoder.decode(contentsOf: url, maxPixels: maxPixels)
            let tDecode = clock.lap()
            var r = try hash(image: decoded.image, orientation: decoded.orientation, computeDigests: computeDigests)
            r.timings.decode += tDecode
            return BatchItem(url: url, result: .success(r))
        } catch let e as NHError {
            return BatchItem(url: url, result: .failure(Self.naming(e, url)))
        } catch {
            return BatchItem(url: url, result: .failure(.imageDecode(path: url.path, reason: "\(error)")))
        }
    }

    /// Errors that do not carry a path get the file's.
    static func naming(_ e: NHError, _ url: URL) -> NHError {
        switch e {
        case .imageDecode, .checksum, .bundle, .seedFile: return e
        default: return .imageDecode(path: url.path, reason: e.description)
        }
    }
}
