import Foundation

/// Every error NHCore throws on purpose. Errors caused by a file name that file.
public enum NHError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    /// A hash string that is not exactly 24 hex digits.
    case invalidHash(String)
    /// A float bit-pattern string that is malformed (`what[index]`).
    case invalidFloatHex(what: String, index: Int, value: String)
    /// A seed file of the wrong size or with NaN/infinite values.
    case seedFile(path: String, reason: String)
    /// A pixel buffer whose size does not match its dimensions, or an empty image.
    case invalidImage(String)
    /// A NaN or infinite projection (the model produced NaN or infinity).
    case nonFiniteProjection(index: Int)
    /// An embedding of the wrong length or with non-finite values.
    case invalidEmbedding(String)
    /// A bundle whose manifest or case list is missing, malformed or inconsistent.
    case bundle(path: String, reason: String)
    /// A bundle file whose size or sha256 differs from the manifest.
    case checksum(path: String, reason: String)
    /// A hash list (docs/hashlist-format.md) that is malformed, tampered with, of another model or
    /// seed, or queried with a bad threshold: `field` is the file or field at fault.
    case hashList(path: String, field: String, reason: String)
    /// An image file that cannot be decoded under the spec's rules.
    case imageDecode(path: String, reason: String)
    /// The inference engine failed or returned something unusable.
    case engine(String)
    /// A spec object that is not nh-spec-v1 or has out-of-range values.
    case specMismatch(String)

    public var description: String {
        switch self {
        case .invalidHash(let s):
            return "not a 96-bit hash: expected exactly 24 hex digits, got \(String(reflecting: s))"
        case .invalidFloatHex(let what, let index, let value):
            return "\(what)[\(index)]: malformed float bit pattern \(String(reflecting: value))"
        case .seedFile(let path, let reason): return "\(path): \(reason)"
        case .invalidImage(let reason): return "invalid image: \(reason)"
        case .nonFiniteProjection(let i):
            return "projection \(i) is not finite (the model produced NaN or infinity)"
        case .invalidEmbedding(let reason): return "invalid embedding: \(reason)"
        case .bundle(let path, let reason): return "\(path): \(reason)"
        case .checksum(let path, let reason): return "\(path): \(reason)"
        case .hashList(let path, let field, let reason): return "\(path): \(field): \(reason)"
        case .imageDecode(let path, let reason): return "\(path): \(reason)"
        case .engine(let reason): return "inference engine: \(reason)"
        case .specMismatch(let reason): return reason
        }
    }

    public var errorDescription: String? { description }
}
