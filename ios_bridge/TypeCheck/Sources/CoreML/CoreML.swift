// TYPE-CHECK STAND-IN for Core ML (see ../../Package.swift): exactly the declarations NHKit
// uses, with Apple's documented Swift signatures. Bodies are never run.
import Foundation

private func standIn() -> Never { fatalError("type-check stand-in: never run") }

// https://developer.apple.com/documentation/coreml/mlcomputeunits  (`enum MLComputeUnits`, NS_ENUM of Int: cpuOnly 0, cpuAndGPU 1, all 2, cpuAndNeuralEngine 3)
public enum MLComputeUnits: Int, Sendable {
    case cpuOnly = 0, cpuAndGPU = 1, all = 2
    // https://developer.apple.com/documentation/coreml/mlcomputeunits/cpuandneuralengine  (iOS 16+)
    case cpuAndNeuralEngine = 3
}

// https://developer.apple.com/documentation/coreml/mlmultiarraydatatype  (`enum MLMultiArrayDataType`, `init?(rawValue: Int)`)
public enum MLMultiArrayDataType: Int, Sendable {
    case double = 0x10040, float32 = 0x10020, float16 = 0x10010, int32 = 0x20020
    // https://developer.apple.com/documentation/coreml/mlmultiarraydatatype/int8  (iOS 18+)
    case int8 = 0x20008
    // https://developer.apple.com/documentation/coreml/mlmultiarraydatatype/float64  `static var float64: MLMultiArrayDataType { get }`
    public static var float64: MLMultiArrayDataType { .double }
    // https://developer.apple.com/documentation/coreml/mlmultiarraydatatype/float  `static var float: MLMultiArrayDataType { get }`
    public static var float: MLMultiArrayDataType { .float32 }
}

// https://developer.apple.com/documentation/coreml/mlfeaturetype  (`enum MLFeatureType`, NS_ENUM of Int)
public enum MLFeatureType: Int, Sendable {
    case invalid = 0, int64, double, string, image, multiArray, dictionary, sequence, state
}

// https://developer.apple.com/documentation/coreml/mlmodelconfiguration  (`class MLModelConfiguration`)
open class MLModelConfiguration: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmodelconfiguration/computeunits  `var computeUnits: MLComputeUnits { get set }`
    open var computeUnits: MLComputeUnits = .all
    public override init() {}
}

// https://developer.apple.com/documentation/coreml/mlmultiarrayconstraint  (`class MLMultiArrayConstraint`)
open class MLMultiArrayConstraint: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmultiarrayconstraint/shape  `var shape: [NSNumber] { get }`
    open var shape: [NSNumber] { standIn() }
    // https://developer.apple.com/documentation/coreml/mlmultiarrayconstraint/datatype  `var dataType: MLMultiArrayDataType { get }`
    open var dataType: MLMultiArrayDataType { standIn() }
}

// https://developer.apple.com/documentation/coreml/mlfeaturedescription  (`class MLFeatureDescription`)
open class MLFeatureDescription: NSObject {
    // https://developer.apple.com/documentation/coreml/mlfeaturedescription/name  `var name: String { get }`
    open var name: String { standIn() }
    // https://developer.apple.com/documentation/coreml/mlfeaturedescription/type  `var type: MLFeatureType { get }`
    open var type: MLFeatureType { standIn() }
    // https://developer.apple.com/documentation/coreml/mlfeaturedescription/multiarrayconstraint  `var multiArrayConstraint: MLMultiArrayConstraint? { get }`
    open var multiArrayConstraint: MLMultiArrayConstraint? { standIn() }
}

// https://developer.apple.com/documentation/coreml/mlmodeldescription  (`class MLModelDescription`)
open class MLModelDescription: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmodeldescription/inputdescriptionsbyname  `var inputDescriptionsByName: [String : MLFeatureDescription] { get }`
    open var inputDescriptionsByName: [String: MLFeatureDescription] { standIn() }
    // https://developer.apple.com/documentation/coreml/mlmodeldescription/outputdescriptionsbyname
    open var outputDescriptionsByName: [String: MLFeatureDescription] { standIn() }
}

// https://developer.apple.com/documentation/coreml/mlmultiarray  (`class MLMultiArray`)
open class MLMultiArray: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmultiarray/init(shape:datatype:)  `init(shape: [NSNumber], dataType: MLMultiArrayDataType) throws`
    public init(shape: [NSNumber], dataType: MLMultiArrayDataType) throws { standIn() }
    // https://developer.apple.com/documentation/coreml/mlmultiarray/shape  `var shape: [NSNumber] { get }`
    open var shape: [NSNumber] { standIn() }
    // https://developer.apple.com/documentation/coreml/mlmultiarray/datatype  `var dataType: MLMultiArrayDataType { get }`
    open var dataType: MLMultiArrayDataType { standIn() }
    // https://developer.apple.com/documentation/coreml/mlmultiarray/withunsafemutablebytes(_:)
    // `func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer, [Int]) throws -> R) rethrows -> R`
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer, [Int]) throws -> R) rethrows -> R { standIn() }
}

// https://developer.apple.com/documentation/coreml/mlfeaturevalue  (`class MLFeatureValue`)
open class MLFeatureValue: NSObject {
    // https://developer.apple.com/documentation/coreml/mlfeaturevalue/init(multiarray:)  `convenience init(multiArray value: MLMultiArray)`
    public convenience init(multiArray value: MLMultiArray) { standIn() }
    // https://developer.apple.com/documentation/coreml/mlfeaturevalue/multiarrayvalue  `var multiArrayValue: MLMultiArray? { get }`
    open var multiArrayValue: MLMultiArray? { standIn() }
}

// https://developer.apple.com/documentation/coreml/mlfeatureprovider  (`protocol MLFeatureProvider`)
public protocol MLFeatureProvider {
    // https://developer.apple.com/documentation/coreml/mlfeatureprovider/featurenames  `var featureNames: Set<String> { get }`
    var featureNames: Set<String> { get }
    // https://developer.apple.com/documentation/coreml/mlfeatureprovider/featurevalue(for:)  `func featureValue(for featureName: String) -> MLFeatureValue?`
    func featureValue(for featureName: String) -> MLFeatureValue?
}

// https://developer.apple.com/documentation/coreml/mldictionaryfeatureprovider  (`class MLDictionaryFeatureProvider`)
open class MLDictionaryFeatureProvider: NSObject, MLFeatureProvider {
    // https://developer.apple.com/documentation/coreml/mldictionaryfeatureprovider/init(dictionary:)  `init(dictionary: [String : Any]) throws`
    public init(dictionary: [String: Any]) throws { standIn() }
    open var featureNames: Set<String> { standIn() }
    open func featureValue(for featureName: String) -> MLFeatureValue? { standIn() }
}

// https://developer.apple.com/documentation/coreml/mlmodel  (`class MLModel`)
open class MLModel: NSObject {
    // https://developer.apple.com/documentation/coreml/mlmodel/init(contentsof:configuration:)  `convenience init(contentsOf url: URL, configuration: MLModelConfiguration) throws`
    public convenience init(contentsOf url: URL, configuration: MLModelConfiguration) throws { standIn() }
    // https://developer.apple.com/documentation/coreml/mlmodel/modeldescription  `var modelDescription: MLModelDescription { get }`
    open var modelDescription: MLModelDescription { standIn() }
    // https://developer.apple.com/documentation/coreml/mlmodel/prediction(from:)-9y2aa  `func prediction(from input: any MLFeatureProvider) throws -> any MLFeatureProvider`
    open func prediction(from input: any MLFeatureProvider) throws -> any MLFeatureProvider { standIn() }
    // https://developer.apple.com/documentation/coreml/mlmodel/compilemodel(at:)-3nea  `class func compileModel(at modelURL: URL) async throws -> URL`
    open class func compileModel(at modelURL: URL) async throws -> URL { standIn() }
}
