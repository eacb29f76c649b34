import CLiteRt
import Foundation
import NHCore

/// The LiteRT C library (`libLiteRt.so`, shipped in the `ai-edge-litert` wheel), opened at run
/// time with the CompiledModel C API resolved. Opened once per path and kept for the process
/// (LiteRT keeps process-wide state; unloading it is not safe).
///
/// Where it comes from, first match wins:
/// 1. an explicit path (`LiteRTLibrary.open(path:)`);
/// 2. the `NHKIT_LITERT_LIB` environment variable (a file path);
/// 3. the installed `ai_edge_litert` Python package: `python3` (or `$NHKIT_PYTHON`) is asked
///    where it is, and `libLiteRt.so` / `libLiteRt.dylib` is taken from that folder.
///
/// The declarations in `CLiteRt.h` are pinned to ai-edge-litert 2.3.0, so the library's version
/// is read from the package next to it (`__init__.py`'s `__version__` or the wheel's
/// `ai_edge_litert-<v>.dist-info`), or from `NHKIT_LITERT_VERSION` for a library outside a
/// package, and anything but 2.3.x is refused before a single LiteRT function is called.
public final class LiteRTLibrary: @unchecked Sendable {
    /// The ai-edge-litert release whose C API `CLiteRt.h` declares.
    public static let pinnedVersion = "2.3.0"
    public static let pathVariable = "NHKIT_LITERT_LIB"
    public static let versionVariable = "NHKIT_LITERT_VERSION"
    public static let pythonVariable = "NHKIT_PYTHON"

    /// The library file that was opened.
    public let url: URL
    /// Its ai-edge-litert version, e.g. "2.3.0" (written into device reports).
    public let version: String
    /// The resolved functions; immutable after loading, so safe to read from any thread.
    let api: NHLiteRtApi

    private init(url: URL, version: String, api: NHLiteRtApi) {
        self.url = url
        self.version = version
        self.api = api
    }

    private static let lock = NSLock()
    private static var opened: [String: LiteRTLibrary] = [:]
    private static var openedByRequest: [String: LiteRTLibrary] = [:]

    /// Finds, version-checks and opens the library (see the type's documentation for the order).
    public static func open(path: URL? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> LiteRTLibrary {
        lock.lock()
        defer { lock.unlock() }
        // The default (no explicit path) is located once per environment: asking Python costs a
        // process start, and every engine of a process would otherwise pay it.
        let key = path?.path ?? "default\u{0}\(environment[pathVariable] ?? "")\u{0}\(environment[pythonVariable] ?? "")"
        if let lib = openedByRequest[key] { return lib }
        let file = try locate(path: path, environment: environment).standardizedFileURL
        if let lib = opened[file.path] {
            openedByRequest[key] = lib
            return lib
        }
        let version = try Self.version(of: file, environment: environment)
        try checkPinned(version, file: file)
        var api = NHLiteRtApi()
        var handle: UnsafeMutableRawPointer?
        var message = [CChar](repeating: 0, count: 1024)
        guard nh_litert_load(file.path, &api, &handle, &message, message.count) == 0 else {
            throw NHError.engine("\(file.path): cannot load LiteRT: \(String(cString: message))")
        }
        let lib = LiteRTLibrary(url: file, version: version, api: api)
        opened[file.path] = lib
        openedByRequest[key] = lib
        return lib
    }

    /// The library file, without opening it. Throws `NHError.engine` naming every place tried.
    public static func locate(path: URL? = nil,
                              environment: [String: String] = ProcessInfo.processInfo.environment) throws -> URL {
        let fm = FileManager.default
        if let path {
            guard fm.fileExists(atPath: path.path) else { throw NHError.engine("\(path.path): LiteRT library not found") }
            return path
        }
        if let env = environment[pathVariable], !env.isEmpty {
            guard fm.fileExists(atPath: env) else {
                throw NHError.engine("\(env): LiteRT library not found (from \(pathVariable))")
            }
            return URL(fileURLWithPath: env)
        }
        let python = environment[pythonVariable].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
        var tried = "\(pathVariable) is not set; "
        if let dir = packageDirectory(python: python, environment: environment) {
            for name in libraryNames {
                let candidate = URL(fileURLWithPath: dir).appendingPathComponent(name)
                if fm.fileExists(atPath: candidate.path) { return candidate }
            }
            tried += "the ai_edge_litert package at \(dir) has no \(libraryNames.joined(separator: " or "))"
        } else {
            tried += "\(python) cannot import ai_edge_litert"
        }
        throw NHError.engine("LiteRT library not found (\(tried)): install it with `pip install ai-edge-litert==\(pinnedVersion)`, "
                             + "set \(pathVariable)=/path/to/libLiteRt.so, or pass its path")
    }

    static var libraryNames: [String] {
        #if os(Linux)
        return ["libLiteRt.so"]
        #else
        return ["libLiteRt.dylib", "libLiteRt.so"]
        #endif
    }

    /// Asks Python where the ai_edge_litert package is (nil when that fails).
    static func packageDirectory(python: String, environment: [String: String]) -> String? {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-c", "import ai_edge_litert, os; print(os.path.dirname(os.path.abspath(ai_edge_litert.__file__)))"]
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return nil }
        let dir = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return dir.isEmpty ? nil : dir
    }

    /// The ai-edge-litert version of the package holding `file`, or `$NHKIT_LITERT_VERSION`.
    static func version(of file: URL, environment: [String: String]) throws -> String {
        if let v = environment[versionVariable], !v.isEmpty { return v }
        let dir = file.deletingLastPathComponent()
        if let text = try? String(contentsOf: dir.appendingPathComponent("__init__.py"), encoding: .utf8),
           let v = assignment(of: "__version__", in: text) {
            return v
        }
        let parent = dir.deletingLastPathComponent()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
        for name in names.sorted() where name.hasPrefix("ai_edge_litert-") && name.hasSuffix(".dist-info") {
            return String(name.dropFirst("ai_edge_litert-".count).dropLast(".dist-info".count))
        }
        throw NHError.engine("\(file.path): cannot tell the LiteRT version (no ai_edge_litert package next to it); "
                             + "set \(versionVariable) if it is ai-edge-litert \(pinnedVersion)")
    }

    /// `name = "value"` on a line of Python source.
    static func assignment(of name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name else { continue }
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            guard value.count >= 2, let q = value.first, q == "\"" || q == "'", value.last == q else { continue }
            return String(value.dropFirst().dropLast())
        }
        return nil
    }

    /// Same major and minor version as the pinned one (patch releases keep the C API).
    static func checkPinned(_ version: String, file: URL) throws {
        let want = pinnedVersion.split(separator: ".").prefix(2)
        let have = version.split(separator: ".").prefix(2)
        guard Array(have) == Array(want) else {
            throw NHError.engine("\(file.path) is LiteRT \(version), but NHLiteRT's C declarations are pinned to "
                                 + "\(pinnedVersion) (the C API changed between releases): install ai-edge-litert==\(pinnedVersion)")
        }
    }

    /// `status` as a message (the library exports no status-string function).
    static func describe(_ status: LiteRtStatus) -> String {
        let names: [Int32: String] = [
            1: "invalid argument", 2: "memory allocation failure", 3: "runtime failure", 4: "missing input tensor",
            5: "unsupported", 6: "not found", 7: "timeout expired", 8: "wrong version", 9: "unknown error",
            10: "already exists", 100: "cancelled", 500: "file I/O error", 501: "invalid flatbuffer",
            502: "dynamic loading error", 503: "serialization error", 504: "compilation error",
        ]
        return "\(names[status] ?? "error") (LiteRtStatus \(status))"
    }
}
