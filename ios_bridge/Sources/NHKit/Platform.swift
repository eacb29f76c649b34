#if canImport(Darwin)
import Darwin
import Foundation
import NHCore

/// What a device report says about the device it ran on.
public enum DevicePlatform {
    public static var osName: String {
        #if os(iOS)
        #if targetEnvironment(macCatalyst)
        return "macCatalyst"
        #else
        return "iOS"
        #endif
        #elseif os(macOS)
        return "macOS"
        #elseif os(tvOS)
        return "tvOS"
        #elseif os(visionOS)
        return "visionOS"
        #elseif os(watchOS)
        return "watchOS"
        #else
        return "unknown"
        #endif
    }

    /// The hardware model identifier, e.g. "iPhone15,2" or "Mac14,2". In the simulator the
    /// simulated device's identifier (SIMULATOR_MODEL_IDENTIFIER) with " (simulator)".
    public static var deviceModel: String {
        if let sim = ProcessInfo.processInfo.environment["SIMULATOR_MODEL_IDENTIFIER"] {
            return sim + " (simulator)"
        }
        #if os(macOS)
        var size = 0
        if sysctlbyname("hw.model", nil, &size, nil, 0) == 0, size > 0 {
            var buf = [CChar](repeating: 0, count: size)
            if sysctlbyname("hw.model", &buf, &size, nil, 0) == 0 { return String(cString: buf) }
        }
        #endif
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return machine.isEmpty ? "unknown" : machine
    }

    public static var current: DeviceReport.Platform {
        let v = ProcessInfo.processInfo.operatingSystemVersion
        return DeviceReport.Platform(os: osName, osVersion: "\(v.majorVersion).\(v.minorVersion).\(v.patchVersion)",
                                     deviceModel: deviceModel)
    }
}
#endif
