/// The subset of ONNX's protobuf messages (onnx/onnx.proto, IR version 7 = ONNX 1.8, opset 13) that the
/// site exporter writes, each with its `encode(into:)` using the field numbers of onnx.proto.
///
/// ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto (with TypeProto.Tensor and
/// TensorShapeProto), OperatorSetIdProto and StringStringEntryProto.

/// TensorProto.DataType values used here.
public enum ONNXDataType: Int32, Sendable {
    case float = 1
    case uint8 = 2
    case int8 = 3
    case int32 = 6
    case int64 = 7
}

/// TensorProto: a named constant (an initializer). Float data goes to the packed `float_data` field,
/// everything else to `raw_data` (little-endian, row-major), as onnx.proto specifies.
public struct ONNXTensor: Sendable, Equatable {
    public var name: String
    public var dataType: ONNXDataType
    public var dims: [Int]
    /// Float elements (dataType .float).
    public var floats: [Float]
    /// Raw little-endian bytes (other data types).
    public var raw: [UInt8]

    public static func float(_ name: String, dims: [Int], _ values: [Float]) -> ONNXTensor {
        precondition(dims.reduce(1, *) == values.count, "tensor \(name): dims \(dims) vs \(values.count) values")
        return ONNXTensor(name: name, dataType: .float, dims: dims, floats: values, raw: [])
    }

    public static func int8(_ name: String, dims: [Int], _ values: [Int8]) -> ONNXTensor {
        precondition(dims.reduce(1, *) == values.count, "tensor \(name): dims \(dims) vs \(values.count) values")
        return ONNXTensor(name: name, dataType: .int8, dims: dims, floats: [], raw: values.map { UInt8(bitPattern: $0) })
    }

    public static func int64(_ name: String, dims: [Int], _ values: [Int64]) -> ONNXTensor {
        precondition(dims.reduce(1, *) == values.count, "tensor \(name): dims \(dims) vs \(values.count) values")
        var raw: [UInt8] = []
        raw.reserveCapacity(values.count * 8)
        for v in values { for k in 0..<8 { raw.append(UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> (8 * UInt64(k)))) } }
        return ONNXTensor(name: name, dataType: .int64, dims: dims, floats: [], raw: raw)
    }

    public static func uint8(_ name: String, dims: [Int], _ values: [UInt8]) -> ONNXTensor {
        precondition(dims.reduce(1, *) == values.count, "tensor \(name): dims \(dims) vs \(values.count) values")
        return ONNXTensor(name: name, dataType: .uint8, dims: dims, floats: [], raw: values)
    }

    public func encode(into w: inout ProtoWriter) {
        w.repeatedInts(1, dims.map(Int64.init))         // dims
        w.int(2, Int64(dataType.rawValue))                // data_type
        if dataType == .float { w.packedFloats(4, floats) } // float_data
        w.string(8, name)                                 // name
        if dataType != .float { w.bytes(9, raw) }         // raw_data
    }
}

/// One dimension of a value's shape: a fixed size or a symbolic name (e.g. the number of rows).
public enum ONNXDim: Sendable, Equatable {
    case value(Int)
    case param(String)
}

/// ValueInfoProto of a tensor: name, element type and shape (graph inputs and outputs).
public struct ONNXValueInfo: Sendable, Equatable {
    public var name: String
    public var elemType: ONNXDataType
    public var shape: [ONNXDim]

    public init(name: String, elemType: ONNXDataType, shape: [ONNXDim]) {
        self.name = name; self.elemType = elemType; self.shape = shape
    }

    public func encode(into w: inout ProtoWriter) {
        w.string(1, name)                                   // name
        w.message(2) { type in                              // type: TypeProto
            type.message(1) { tensor in                     // tensor_type: TypeProto.Tensor
                tensor.int(1, Int64(elemType.rawValue))     // elem_type
                tensor.message(2) { shp in                  // shape: TensorShapeProto
                    for d in shape {
                        shp.message(1) { dim in             // dim: Dimension
                            switch d {
                            case .value(let v): dim.int(1, Int64(v))   // dim_value
                            case .param(let p): dim.string(2, p)       // dim_param
                            }
                        }
                    }
                }
            }
        }
    }
}

/// AttributeProto (only the kinds the exporter uses).
public struct ONNXAttribute: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case int(Int64)
        case float(Float)
        case ints([Int64])
        case string(String)
    }
    public var name: String
    public var value: Value

    public init(_ name: String, _ value: Value) { self.name = name; self.value = value }

    public func encode(into w: inout ProtoWriter) {
        w.string(1, name)                                    // name
        switch value {
        case .float(let f): w.float(2, f); w.int(20, 1)      // f, type FLOAT
        case .int(let i): w.int(3, i); w.int(20, 2)          // i, type INT
        case .ints(let a): w.repeatedInts(8, a); w.int(20, 7) // ints, type INTS
        case .string(let v): w.string(4, v); w.int(20, 3)    // s, type STRING
        }
    }
}

/// NodeProto: one operator application (default ONNX domain).
public struct ONNXNode: Sendable, Equatable {
    public var opType: String
    public var name: String
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [ONNXAttribute]

    public init(_ opType: String, name: String, inputs: [String], outputs: [String], attributes: [ONNXAttribute] = []) {
        self.opType = opType; self.name = name; self.inputs = inputs; self.outputs = outputs; self.attributes = attributes
    }

    public func encode(into w: inout ProtoWriter) {
        for i in inputs { w.string(1, i) }                   // input
        for o in outputs { w.string(2, o) }                  // output
        w.string(3, name)                                    // name
        w.string(4, opType)                                  // op_type
        for a in attributes { w.message(5) { a.encode(into: &$0) } } // attribute
    }
}

/// GraphProto.
public struct ONNXGraph: Sendable, Equatable {
    public var name: String
    public var nodes: [ONNXNode]
    public var initializers: [ONNXTensor]
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
    public var docString: String

    public init(name: String, nodes: [ONNXNode], initializers: [ONNXTensor], inputs: [ONNXValueInfo],
                outputs: [ONNXValueInfo], docString: String = "") {
        self.name = name; self.nodes = nodes; self.initializers = initializers
        self.inputs = inputs; self.outputs = outputs; self.docString = docString
    }

    public func encode(into w: inout ProtoWriter) {
        for n in nodes { w.message(1) { n.encode(into: &$0) } }        // node
        w.string(2, name)                                              // name
        for t in initializers { w.message(5) { t.encode(into: &$0) } } // initializer
        if !docString.isEmpty { w.string(10, docString) }              // doc_string
        for i in inputs { w.message(11) { i.encode(into: &$0) } }      // input
        for o in outputs { w.message(12) { o.encode(into: &$0) } }     // output
    }
}

/// ModelProto with one opset import of the default domain.
public struct ONNXModel: Sendable, Equatable {
    /// IR version 7 (ONNX 1.8), the first to go with opset 13 (the per-site graphs).
    public static let irVersion: Int64 = 7
    /// Opset 13: per-axis QuantizeLinear/DequantizeLinear and int8 Clip.
    public static let opset: Int64 = 13
    /// IR version 8 (ONNX 1.10) with opset 17 (the whole-model graphs: LayerNormalization).
    public static let wholeModelIRVersion: Int64 = 8
    public static let wholeModelOpset: Int64 = 17

    /// This model's IR version and default-domain opset (13 / 7 unless set).
    public var opsetVersion: Int64 = ONNXModel.opset
    public var irVersionNumber: Int64 = ONNXModel.irVersion

    public var graph: ONNXGraph
    public var producerName: String
    public var producerVersion: String
    public var docString: String
    /// metadata_props, in order.
    public var metadata: [(String, String)]

    public init(graph: ONNXGraph, producerName: String = "harmoq", producerVersion: String,
                docString: String = "", metadata: [(String, String)] = []) {
        self.graph = graph; self.producerName = producerName; self.producerVersion = producerVersion
        self.docString = docString; self.metadata = metadata
    }

    public static func == (a: ONNXModel, b: ONNXModel) -> Bool {
        a.graph == b.graph && a.opsetVersion == b.opsetVersion && a.irVersionNumber == b.irVersionNumber
            && a.producerName == b.producerName && a.producerVersion == b.producerVersion
            && a.docString == b.docString && a.metadata.map { [$0.0, $0.1] } == b.metadata.map { [$0.0, $0.1] }
    }

    public func encode(into w: inout ProtoWriter) {
        w.int(1, irVersionNumber)                            // ir_version
        w.string(2, producerName)                            // producer_name
        w.string(3, producerVersion)                         // producer_version
        if !docString.isEmpty { w.string(6, docString) }     // doc_string
        w.message(7) { graph.encode(into: &$0) }             // graph
        w.message(8) { op in                                 // opset_import: OperatorSetIdProto
            op.string(1, "")                                 // domain (default)
            op.int(2, opsetVersion)                          // version
        }
        for (k, v) in metadata {                             // metadata_props: StringStringEntryProto
            w.message(14) { e in e.string(1, k); e.string(2, v) }
        }
    }

    /// The serialized model (the bytes of a .onnx file).
    public func serialized() -> [UInt8] {
        var w = ProtoWriter()
        encode(into: &w)
        return w.bytes
    }
}
