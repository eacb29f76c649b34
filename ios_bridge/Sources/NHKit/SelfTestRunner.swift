#if canImport(CoreML) && canImport(ImageIO)
import CoreML
import Foundation
import NHCore

/// Runs a bundle's self-test cases on this device through ImageIO + Core ML and writes the
/// device report JSON (docs/device-report.md) for `nhkit golden check REPORT --bundle B`.
///
/// ```swift
/// let outcome = try await SelfTestRunner(bundleURL: url).run()
/// print(outcome.summary)            // "5/5 cases passed on iPhone15,2 (iOS 17.4.1), cpuOnly"
/// // outcome.reportURL: Documents/nhkit-selftest/<bundle_id>-<timestamp>.json
/// ```
public struct SelfTestRunner: Sendable {
    public static let bridgeName = "nhkit-ios"
    public static let bridgeVersion = "0.1.0"

    public struct Outcome: Sendable {
        public let report: DeviceReport
        /// Where the report was written (nil if writing was not requested).
        public let reportURL: URL?
        /// A first look on the device; `nhkit golden check` is the authority.
        public let verdicts: [SelfTest.Verdict]
        public var passed: Bool { verdicts.allSatisfy(\.passed) }
        public var summary: String {
            let ok = verdicts.filter(\.passed).count
            return "\(ok)/\(verdicts.count) cases passed on \(report.platform.deviceModel) (\(report.platform.os) \(report.platform.osVersion)), \(report.runtime.computeUnit)"
        }
        /// The report as pretty JSON, e.g. for an XCTAttachment or a share sheet.
        public func jsonData() throws -> Data { try report.jsonData() }
    }

    public let bundleURL: URL
    public let computeUnits: MLComputeUnits
    public let verifyChecksums: Bool

    public init(bundleURL: URL, computeUnits: MLComputeUnits = .cpuOnly, verifyChecksums: Bool = true) {
        self.bundleURL = bundleURL
        self.computeUnits = computeUnits
        self.verifyChecksums = verifyChecksums
    }

    /// Runs every case. `reportDirectory`: where to write the report (default
    /// Documents/nhkit-selftest/, visible in the Files app when the app sets
    /// UIFileSharingEnabled); pass `writeReport: false` to keep it in memory only.
    public func run(writeReport: Bool = true, reportDirectory: URL? = nil) async throws -> Outcome {
        let bundle = try NHBundle(url: bundleURL, verifyChecksums: verifyChecksums)
        let engine = try await CoreMLEngine.load(bundle: bundle, computeUnits: computeUnits)
        let report = try SelfTest.run(bundle: bundle, engine: engine, decoder: ImageIODecoder(),
                                      bridge: .init(name: Self.bridgeName, version: Self.bridgeVersion),
                                      platform: DevicePlatform.current)
        let verdicts = SelfTest.evaluate(report, cases: try bundle.loadSelfTestCases(), tolerance: bundle.manifest.tolerance)
        var url: URL?
        if writeReport {
            let dir = try reportDirectory ?? Self.defaultReportDirectory()
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let stamp = report.created.replacingOccurrences(of: ":", with: "")
            let file = dir.appendingPathComponent("\(bundle.manifest.bundleID)-\(stamp).json")
            try report.write(to: file)   // atomic
            url = file
        }
        return Outcome(report: report, reportURL: url, verdicts: verdicts)
    }

    public static func defaultReportDirectory() throws -> URL {
        let docs = try FileManager.default.url(for: .documentDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        return docs.appendingPathComponent("nhkit-selftest", isDirectory: true)
    }
}
#endif
