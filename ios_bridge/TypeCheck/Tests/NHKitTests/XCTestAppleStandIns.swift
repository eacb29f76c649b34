// TYPE-CHECK STAND-IN for the Apple-only part of XCTest that NHKitTests uses (see
// ../../Package.swift); swift-corelibs-xctest has no attachments. Bodies are never run.
// SelfTestOnDeviceTests.swift next to this file is a symlink to the real test; a new test file in
// ios_bridge/Tests/NHKitTests needs a symlink here too.
import Foundation
import XCTest

private func standIn() -> Never { fatalError("type-check stand-in: never run") }

// https://developer.apple.com/documentation/xctest/xctattachment  (`class XCTAttachment`)
open class XCTAttachment: NSObject {
    // https://developer.apple.com/documentation/xctest/xctattachment/init(data:uniformtypeidentifier:)
    // `convenience init(data payload: Data, uniformTypeIdentifier identifier: String)`
    public convenience init(data payload: Data, uniformTypeIdentifier identifier: String) { standIn() }
    // https://developer.apple.com/documentation/xctest/xctattachment/name  `var name: String? { get set }`
    open var name: String?
    // https://developer.apple.com/documentation/xctest/xctattachment/lifetime-swift.property  `var lifetime: XCTAttachment.Lifetime { get set }`
    open var lifetime: Lifetime = .deleteOnSuccess
    // https://developer.apple.com/documentation/xctest/xctattachment/lifetime-swift.enum
    public enum Lifetime: Int { case keepAlways = 0, deleteOnSuccess = 1 }
}

extension XCTestCase {
    // https://developer.apple.com/documentation/xctest/xctactivity/add(_:)  `func add(_ attachment: XCTAttachment)` (XCTestCase conforms to XCTActivity)
    public func add(_ attachment: XCTAttachment) { standIn() }
}
