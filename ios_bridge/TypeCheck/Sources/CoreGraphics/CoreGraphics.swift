// TYPE-CHECK STAND-IN for CoreGraphics (see ../../Package.swift): exactly the declarations NHKit
// uses, with Apple's documented Swift signatures. Bodies are never run.
import Foundation

// MARK: Foundation on Apple platforms: CoreFoundation types toll-free bridged to Foundation.
// On Apple `url as CFURL`, `data as CFData`, `[k: v] as CFDictionary` and `cfData as Data`
// compile through toll-free bridging; swift-corelibs-foundation has no public CF types, so
// each is aliased to its bridged NS class, which gives the same `as` conversions.
// https://developer.apple.com/documentation/corefoundation/cfurl
public typealias CFURL = NSURL
// https://developer.apple.com/documentation/corefoundation/cfdata
public typealias CFData = NSData
// https://developer.apple.com/documentation/corefoundation/cfdictionary
public typealias CFDictionary = NSDictionary
// https://developer.apple.com/documentation/corefoundation/cfstring
public typealias CFString = NSString

private func standIn() -> Never { fatalError("type-check stand-in: never run") }

// https://developer.apple.com/documentation/coregraphics/cgimage  (`class CGImage`)
public final class CGImage {
    // https://developer.apple.com/documentation/coregraphics/cgimage/width
    public var width: Int { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgimage/height
    public var height: Int { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgimage/bitspercomponent
    public var bitsPerComponent: Int { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgimage/bitsperpixel
    public var bitsPerPixel: Int { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgimage/bytesperrow
    public var bytesPerRow: Int { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgimage/bitmapinfo  `var bitmapInfo: CGBitmapInfo { get }`
    public var bitmapInfo: CGBitmapInfo { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgimage/colorspace
    public var colorSpace: CGColorSpace? { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgimage/alphainfo
    public var alphaInfo: CGImageAlphaInfo { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgimage/dataprovider  `var dataProvider: CGDataProvider? { get }`
    public var dataProvider: CGDataProvider? { standIn() }
}

// https://developer.apple.com/documentation/coregraphics/cgbitmapinfo  (`struct CGBitmapInfo`, an OptionSet of UInt32)
public struct CGBitmapInfo: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    // https://developer.apple.com/documentation/coregraphics/cgbitmapinfo/alphainfomask
    public static var alphaInfoMask: CGBitmapInfo { CGBitmapInfo(rawValue: 0x1F) }
    // https://developer.apple.com/documentation/coregraphics/cgbitmapinfo/floatcomponents
    public static var floatComponents: CGBitmapInfo { CGBitmapInfo(rawValue: 1 << 8) }
    // https://developer.apple.com/documentation/coregraphics/cgbitmapinfo/byteordermask  `static var byteOrderMask: CGBitmapInfo { get }`
    public static var byteOrderMask: CGBitmapInfo { CGBitmapInfo(rawValue: 0x7000) }
    // https://developer.apple.com/documentation/coregraphics/cgbitmapinfo/byteorder16little
    public static var byteOrder16Little: CGBitmapInfo { CGBitmapInfo(rawValue: 1 << 12) }
    // https://developer.apple.com/documentation/coregraphics/cgbitmapinfo/byteorder32little  `static var byteOrder32Little: CGBitmapInfo { get }`
    public static var byteOrder32Little: CGBitmapInfo { CGBitmapInfo(rawValue: 2 << 12) }
    // https://developer.apple.com/documentation/coregraphics/cgbitmapinfo/byteorder16big
    public static var byteOrder16Big: CGBitmapInfo { CGBitmapInfo(rawValue: 3 << 12) }
    // https://developer.apple.com/documentation/coregraphics/cgbitmapinfo/byteorder32big
    public static var byteOrder32Big: CGBitmapInfo { CGBitmapInfo(rawValue: 4 << 12) }
}

// https://developer.apple.com/documentation/coregraphics/cgimagealphainfo  (`enum CGImageAlphaInfo`, UInt32 raw values 0...7)
public enum CGImageAlphaInfo: UInt32, Sendable {
    case none = 0, premultipliedLast, premultipliedFirst, last, first, noneSkipLast, noneSkipFirst, alphaOnly
}

// https://developer.apple.com/documentation/coregraphics/cgcolorspace  (`class CGColorSpace`)
public final class CGColorSpace {
    // https://developer.apple.com/documentation/coregraphics/cgcolorspace/model  `var model: CGColorSpaceModel { get }`
    public var model: CGColorSpaceModel { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgcolorspace/basecolorspace  `var baseColorSpace: CGColorSpace? { get }`
    public var baseColorSpace: CGColorSpace? { standIn() }
    // https://developer.apple.com/documentation/coregraphics/cgcolorspace/colortable  `var colorTable: [UInt8]? { get }`
    public var colorTable: [UInt8]? { standIn() }
}

// https://developer.apple.com/documentation/coregraphics/cgcolorspacemodel  (`enum CGColorSpaceModel`, `init?(rawValue: Int32)`)
public enum CGColorSpaceModel: Int32, Sendable {
    case unknown = -1, monochrome = 0, rgb, cmyk, lab, deviceN, indexed, pattern, XYZ
}

// https://developer.apple.com/documentation/coregraphics/cgdataprovider  (`class CGDataProvider`)
public final class CGDataProvider {
    // https://developer.apple.com/documentation/coregraphics/cgdataprovider/data  `var data: CFData? { get }`
    public var data: CFData? { standIn() }
}
