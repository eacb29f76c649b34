// TYPE-CHECK STAND-IN for ImageIO (see ../../Package.swift): exactly the declarations NHKit
// uses, with Apple's documented Swift signatures. Bodies are never run.
import CoreGraphics
import Foundation

private func standIn() -> Never { fatalError("type-check stand-in: never run") }

// https://developer.apple.com/documentation/imageio/cgimagesource  (`class CGImageSource`)
public final class CGImageSource {}

// https://developer.apple.com/documentation/imageio/cgimagesourcecreatewithurl(_:_:)
public func CGImageSourceCreateWithURL(_ url: CFURL, _ options: CFDictionary?) -> CGImageSource? { standIn() }
// https://developer.apple.com/documentation/imageio/cgimagesourcecreatewithdata(_:_:)
public func CGImageSourceCreateWithData(_ data: CFData, _ options: CFDictionary?) -> CGImageSource? { standIn() }
// https://developer.apple.com/documentation/imageio/cgimagesourcegettype(_:)
public func CGImageSourceGetType(_ isrc: CGImageSource) -> CFString? { standIn() }
// https://developer.apple.com/documentation/imageio/cgimagesourcegetcount(_:)
public func CGImageSourceGetCount(_ isrc: CGImageSource) -> Int { standIn() }
// https://developer.apple.com/documentation/imageio/cgimagesourcecopypropertiesatindex(_:_:_:)
public func CGImageSourceCopyPropertiesAtIndex(_ isrc: CGImageSource, _ index: Int, _ options: CFDictionary?) -> CFDictionary? { standIn() }
// https://developer.apple.com/documentation/imageio/cgimagesourcegetstatusatindex(_:_:)
public func CGImageSourceGetStatusAtIndex(_ isrc: CGImageSource, _ index: Int) -> CGImageSourceStatus { standIn() }
// https://developer.apple.com/documentation/imageio/cgimagesourcecreateimageatindex(_:_:_:)
public func CGImageSourceCreateImageAtIndex(_ isrc: CGImageSource, _ index: Int, _ options: CFDictionary?) -> CGImage? { standIn() }

// https://developer.apple.com/documentation/imageio/cgimagesourcestatus  (`enum CGImageSourceStatus`, `init?(rawValue: Int32)`)
public enum CGImageSourceStatus: Int32, Sendable {
    case statusUnexpectedEOF = -5, statusInvalidData = -4, statusUnknownType = -3, statusReadingHeader = -2
    case statusIncomplete = -1, statusComplete = 0
}

// https://developer.apple.com/documentation/imageio/kcgimagesourceshouldcache  (`let kCGImageSourceShouldCache: CFString`)
public let kCGImageSourceShouldCache: CFString = "kCGImageSourceShouldCache"
// https://developer.apple.com/documentation/imageio/kcgimagesourceshouldallowfloat
public let kCGImageSourceShouldAllowFloat: CFString = "kCGImageSourceShouldAllowFloat"
// https://developer.apple.com/documentation/imageio/kcgimagepropertypixelwidth
public let kCGImagePropertyPixelWidth: CFString = "PixelWidth"
// https://developer.apple.com/documentation/imageio/kcgimagepropertypixelheight
public let kCGImagePropertyPixelHeight: CFString = "PixelHeight"
// https://developer.apple.com/documentation/imageio/kcgimagepropertyorientation
public let kCGImagePropertyOrientation: CFString = "Orientation"

// https://developer.apple.com/documentation/imageio/cgimagepropertyorientation  (`enum CGImagePropertyOrientation`, UInt32 raw values 1...8)
public enum CGImagePropertyOrientation: UInt32, Sendable {
    case up = 1, upMirrored, down, downMirrored, leftMirrored, right, rightMirrored, left
}
