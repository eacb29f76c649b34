// SAMPLE, NOT BUILT OR RUN IN THIS REPOSITORY'S CHECKS (they run on Linux, without Xcode or an
// iOS SDK). A minimal iOS app that loads an nhkit Core ML bundle, runs its self-test through
// ImageIO + Core ML, prints the device report JSON to the console and shows the summary.
//
// To use it: create an iOS App project in Xcode (SwiftUI, iOS 16+), replace its App file with
// this one, add the nhkit package by URL (File > Add Package Dependencies..., product NHKit), and
// add an exported bundle folder (e.g. out/nhkit-mnv3s-v3.coreml-fp16/) to the app target as a
// *folder reference* (blue folder) so Xcode copies its files byte for byte. See README.md.
import NHKit
import SwiftUI

@main
struct SelfTestApp: App {
    var body: some Scene {
        WindowGroup { SelfTestView() }
    }
}

struct SelfTestView: View {
    @State private var status = "Running the nhkit self-test..."
    @State private var report = ""

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 12) {
                Text(status).font(.headline)
                Text(report).font(.system(.caption2, design: .monospaced)).textSelection(.enabled)
            }
            .padding()
        }
        .task { await runSelfTest() }
    }

    /// The first folder in the app's resources that holds a `manifest.json`.
    static func bundledNHKitBundle() -> URL? {
        guard let root = Bundle.main.resourceURL,
              let names = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return nil }
        return names.sorted().map { root.appendingPathComponent($0) }
            .first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("manifest.json").path) }
    }

    func runSelfTest() async {
        guard let bundleURL = Self.bundledNHKitBundle() else {
            status = "No nhkit bundle in the app: add one as a folder reference."
            return
        }
        do {
            // Verifies every file's sha256, compiles the model once (cached), runs every case.
            let outcome = try await SelfTestRunner(bundleURL: bundleURL, computeUnits: .cpuOnly).run()
            let json = String(decoding: try outcome.jsonData(), as: UTF8.self)
            print(json)   // the device report; judge it with `nhkit golden check REPORT --bundle B`
            status = outcome.summary + (outcome.reportURL.map { "\nwritten to \($0.path)" } ?? "")
            report = json
        } catch {
            status = "Self-test failed: \(error)"
        }
    }
}
