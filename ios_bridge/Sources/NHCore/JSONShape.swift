import Foundation

/// The keys and JSON types of an nhkit file format (bundle manifest, self-test cases): what the
/// format's JSON Schema (`runtime/schemas/`) says about structure, so NHCore reaches the same
/// verdict as Python's schema check on a missing, unknown or mistyped field, naming the same
/// field path (`model.inputs[0].shape[1]`, as Python's `jsonfile.field_path` writes it).
/// Values (patterns, ranges, consts) are checked by each format's own reader.
indirect enum JSONShape: Sendable {
    case any
    case string
    /// A number literal without fraction or exponent.
    case integer
    case number
    case boolean
    case nullable(JSONShape)
    case array(JSONShape)
    /// Every key required except those in `optional`; no other key allowed.
    case object([String: JSONShape], optional: Set<String> = [])
    /// Free-form keys, each value of one shape (`tools`).
    case map(JSONShape)

    /// The first problem in `value` (keys visited in sorted order), as a field path and a reason.
    func problem(in value: StrictJSON, at path: [String] = []) -> (field: String, reason: String)? {
        func here(_ reason: String) -> (field: String, reason: String) { (StrictJSON.fieldPath(path).isEmpty ? "(top level)" : StrictJSON.fieldPath(path), reason) }
        switch (self, value) {
        case (.any, _): return nil
        case (.nullable, .null): return nil
        case (.nullable(let inner), _): return inner.problem(in: value, at: path)
        case (.string, .string), (.boolean, .bool): return nil
        case (.number, .number): return nil
        case (.integer, .number):
            return value.intValue == nil ? here("expected an integer, got \(value.compactText)") : nil
        case (.array(let item), .array(let items)):
            for (i, v) in items.enumerated() {
                if let p = item.problem(in: v, at: path + ["[\(i)]"]) { return p }
            }
            return nil
        case (.object(let fields, let optional), .object(let o)):
            for k in fields.keys.sorted() where o[k] == nil && !optional.contains(k) {
                return (StrictJSON.fieldPath(path + [k]), "missing (required field)")
            }
            for k in o.keys.sorted() where fields[k] == nil {
                return (StrictJSON.fieldPath(path + [k]), "unknown field")
            }
            for k in o.keys.sorted() {
                if let p = fields[k]!.problem(in: o[k]!, at: path + [k]) { return p }
            }
            return nil
        case (.map(let item), .object(let o)):
            for k in o.keys.sorted() {
                if let p = item.problem(in: o[k]!, at: path + [k]) { return p }
            }
            return nil
        default:
            return here("expected \(name), got \(value.typeName)")
        }
    }

    var name: String {
        switch self {
        case .any: return "any value"
        case .string: return "a string"
        case .integer: return "an integer"
        case .number: return "a number"
        case .boolean: return "a boolean"
        case .nullable(let inner): return "\(inner.name) or null"
        case .array: return "an array"
        case .object, .map: return "an object"
        }
    }
}

/// Reading one nhkit JSON file the same way in every NHCore reader (reports, manifests, cases):
/// a UTF-8 byte order mark is tolerated (as in Python and Java), the syntax is strict (a repeated
/// key or a NaN/Infinity literal is an error naming its field; a file cut short says
/// `truncated`), then the format id and version, then (when given) the format's shape.
/// Errors are `field: reason`, wrapped by `fail` with the file's path.
struct NHJSONFile {
    let format: String
    let version: Int
    let shape: JSONShape?

    func read(_ data: Data, fail: (String) -> NHError) throws -> [String: StrictJSON] {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        let json: StrictJSON
        do {
            json = try StrictJSON.parse(bytes)
        } catch let e as StrictJSON.ParseError {
            if let dup = e.duplicatePath { throw fail("\(dup): \(e)") }
            if e.truncated { throw fail("truncated: the file ends inside a JSON value (\(e))") }
            throw fail("not valid JSON\(e.fieldPath.isEmpty ? "" : " at \(e.fieldPath)"): \(e)")
        }
        guard case .object(let top) = json else { throw fail("(top level): expected a JSON object, got \(json.typeName)") }
        guard case .string(format)? = top["format"] else {
            throw fail("format: is \(top["format"]?.compactText ?? "missing"); expected \"\(format)\"")
        }
        guard top["format_version"]?.intValue == version else {
            throw fail("format_version: is \(top["format_version"]?.compactText ?? "missing"); this reader knows \(version)")
        }
        if let shape, let p = shape.problem(in: json) { throw fail("\(p.field): \(p.reason)") }
        return top
    }
}
