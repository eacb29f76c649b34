import Foundation

// libFuzzer entry points over NHCore's readers: the long run of the bridges' fuzzer on Swift
// (benchmarks/fuzz_bridges.sh builds and runs it; the suite's short profile is
// Tests/NHCoreTests/ReaderFuzzTests.swift). Not a SwiftPM target: the script compiles this file,
// NHCore's sources and Tests/NHCoreTests/Fuzz/FuzzTargets.swift as one module with
// `swiftc -sanitize=fuzzer,address -D NHKIT_LIBFUZZER`, so the targets reach NHCore's internal
// layers (StrictJSON, Inflate) as the tests do with @testable. Environment:
//   NHKIT_FUZZ_READER   the target to run (names: FuzzTargets.swift)
//   NHKIT_REPO          the repository root (seeds)
//   NHKIT_FUZZ_BUNDLE   a valid bundle folder (bundle-manifest, selftest-cases, bundle-folder)
//   NHKIT_FUZZ_CORPUS   a folder to write the target's seeds into before fuzzing (libFuzzer's corpus)
// A trap or an undocumented error (reported, then abort()) is a libFuzzer crash with its input
// saved as crash-<sha1>; a slow input is a timeout, a memory hog an rss/malloc-limit crash.

nonisolated(unsafe) var libFuzzerTarget: ReaderFuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func libFuzzerInitialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> Int32 {
    let env = ProcessInfo.processInfo.environment
    guard let name = env["NHKIT_FUZZ_READER"], let repo = env["NHKIT_REPO"] else {
        FileHandle.standardError.write(Data("set NHKIT_FUZZ_READER and NHKIT_REPO\n".utf8))
        exit(2)
    }
    let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("nhkit-libfuzzer-\(getpid())")
    let ctx = FuzzContext(repo: URL(fileURLWithPath: repo), scratch: scratch,
                          bundle: env["NHKIT_FUZZ_BUNDLE"].map { URL(fileURLWithPath: $0) })
    guard let targets = try? ReaderFuzzTargets.all(ctx), let t = targets.first(where: { $0.name == name }) else {
        FileHandle.standardError.write(Data("no fuzz target \(name) (a bundle target needs NHKIT_FUZZ_BUNDLE)\n".utf8))
        exit(2)
    }
    libFuzzerTarget = t
    FileHandle.standardError.write(Data("nhkit fuzz target: \(t.name): \(t.what)\n".utf8))
    if let corpus = env["NHKIT_FUZZ_CORPUS"] {
        let dir = URL(fileURLWithPath: corpus)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (i, s) in t.seeds.enumerated() where s.count <= t.maxLength {
            try? Data(s).write(to: dir.appendingPathComponent("seed-\(i)"))
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func libFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let t = libFuzzerTarget else { return 0 }
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    if bytes.count > t.maxLength { return -1 }   // not added to the corpus
    do {
        try t.run(bytes)
    } catch where t.expected(error) {
    } catch {
        FileHandle.standardError.write(Data("nhkit fuzz: \(t.name): undocumented \(type(of: error)): \(error)\n".utf8))
        abort()
    }
    return 0
}
