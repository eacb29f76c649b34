/// A strict JSON (RFC 8259) reader for hash-list files. Our own rather than Foundation's
/// `JSONSerialization` because the format requires rejecting duplicate object keys (which
/// `JSONSerialization` silently collapses), and because `JSONSerialization` on Linux cannot tell
/// `true` from `1` or `1` from `1.0` (all NSNumber), which the schema distinguishes.
enum StrictJSON: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The literal as written (validated against the JSON number grammar).
    case number(String)
    case string(String)
    case array([StrictJSON])
    case object([String: StrictJSON])

    /// An integer literal (no fraction or exponent) that fits in `Int`.
    var intValue: Int? {
        guard case .number(let text) = self, !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) else { return nil }
        return Int(text)
    }

    var doubleValue: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Compact JSON text (non-ASCII and control characters as `\uXXXX`, like Python's
    /// `json.dumps(ensure_ascii=True)`; numbers as written).
    var compactText: String {
        var out = ""
        write(into: &out)
        return out
    }

    private func write(into out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let a):
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                v.write(into: &out)
            }
            out += "]"
        case .object(let o):
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Self.writeString(k, into: &out)
                out += ":"
                o[k]!.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.utf16 {
            switch u {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20...0x7E: out.unicodeScalars.append(Unicode.Scalar(UInt8(u)))
            default:
                let h = String(u, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            }
        }
        out += "\""
    }

    /// The same value as NHCore's `JSONValue` (numbers as Double), for what apps see.
    var jsonValue: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .number(let n): return .number(Double(n) ?? .nan)
        case .string(let s): return .string(s)
        case .array(let a): return .array(a.map(\.jsonValue))
        case .object(let o): return .object(o.mapValues(\.jsonValue))
        }
    }

    struct ParseError: Error, CustomStringConvertible {
        let description: String
        /// For a repeated key: its field path (`counts.hashes`, `files[1].path`), as Python's
        /// `jsonfile.field_path` writes it.
        var duplicatePath: String? = nil
        /// The field path of the value being read when the error happened ("" at the root).
        var fieldPath = ""
        /// The input ended before the value did (a file cut short).
        var truncated = false
    }

    /// `counts.hashes`, `files[1].path`: Python's `jsonfile.field_path` form.
    static func fieldPath(_ parts: [String]) -> String {
        parts.reduce("") { acc, p in p.hasPrefix("[") ? acc + p : (acc.isEmpty ? p : acc + "." + p) }
    }


    /// Parses one JSON document from UTF-8 bytes (no byte-order mark, nothing after the value).
    static func parse<C: Collection>(_ bytes: C) throws -> StrictJSON where C.Element == UInt8 {
        var p = Parser(bytes: Array(bytes))
        p.skipWhitespace()
        let v = try p.value(depth: 0)
        p.skipWhitespace()
        guard p.i == p.b.count else { throw p.error("unexpected data after the JSON value") }
        return v
    }

    private struct Parser {
        let b: [UInt8]
        var i = 0
        /// Keys and indices from the root to the value being read.
        var path: [String] = []
        static let maxDepth = 200

        init(bytes: [UInt8]) { b = bytes }

        func error(_ what: String) -> ParseError {
            ParseError(description: "\(what) at byte \(i)", fieldPath: StrictJSON.fieldPath(path), truncated: i >= b.count)
        }

        mutating func skipWhitespace() {
            while i < b.count, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { i += 1 }
        }

        mutating func literal(_ word: String, _ v: StrictJSON) throws -> StrictJSON {
            let w = Array(word.utf8)
            guard i + w.count <= b.count, Array(b[i..<i + w.count]) == w else { throw error("invalid literal") }
            i += w.count
            return v
        }

        mutating func value(depth: Int) throws -> StrictJSON {
            guard depth <= Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
            guard i < b.count else { throw error("unexpected end of input") }
            switch b[i] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw error("unexpected character")
            }
        }

        mutating func object(depth: Int) throws -> StrictJSON {
            i += 1
            var out: [String: StrictJSON] = [:]
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
            while true {
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try string()
                guard out[key] == nil else {
                    var e = error("key \(String(reflecting: key)) appears twice in the same object")
                    e.duplicatePath = StrictJSON.fieldPath(path + [key])
                    throw e
                }
                skipWhitespace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
                skipWhitespace()
                path.append(key)
                out[key] = try value(depth: depth + 1)
                path.removeLast()
                skipWhitespace()
                guard i < b.count else { throw error("unexpected end of input in an object") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(out) }
                throw error("expected ',' or '}'")
            }
        }

        mutating func array(depth: Int) throws -> StrictJSON {
            i += 1
            var out: [StrictJSON] = []
            skipWhitespace()
            if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
            while true {
                skipWhitespace()
                path.append("[\(out.count)]")
                out.append(try value(depth: depth + 1))
                path.removeLast()
                skipWhitespace()
                guard i < b.count else { throw error("unexpected end of input in an array") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(out) }
                throw error("expected ',' or ']'")
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= b.count else { throw error("truncated \\u escape") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let d = Hex.nibble(b[i]) else { throw error("bad \\u escape") }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }

        mutating func string() throws -> String {
            i += 1
            var out: [UInt8] = []
            while true {
                guard i < b.count else { throw error("unterminated string") }
                let c = b[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c < 0x20 { throw error("control character in a string") }
                if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
                i += 1
                guard i < b.count else { throw error("unterminated escape") }
                let e = b[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                            throw error("lone surrogate in \\u escape")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("lone surrogate in \\u escape") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("lone surrogate in \\u escape")
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(scalar)!).utf8))
                default: throw error("bad escape")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
            return s
        }

        mutating func number() throws -> StrictJSON {
            let start = i
            func digits() -> Int {
                let s = i
                while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") { i += 1 }
                return i - s
            }
            if b[i] == UInt8(ascii: "-") { i += 1 }
            guard i < b.count else { throw error("bad number") }
            if b[i] == UInt8(ascii: "0") {
                i += 1
            } else if digits() == 0 {
                throw error("bad number")
            }
            if i < b.count, b[i] == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { throw error("bad number") }
            }
            if i < b.count, b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E") {
                i += 1
                if i < b.count, b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { throw error("bad number") }
            }
            return .number(String(decoding: b[start..<i], as: UTF8.self))
        }
    }
}
