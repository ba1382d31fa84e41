/// The values a restricted unpickler can build. Lists and dicts are reference boxes because the
/// pickle memo shares them and APPEND/SETITEM mutate them in place.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global (module, name), e.g. ("torch", "FloatStorage").
    case global(String, String)
    /// A storage reference from a persistent id: ('storage', <type>, key, location, numel).
    case storage(PickleStorageRef)
    /// The result of `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`.
    case tensor(PickleTensorRef)

    var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case .tuple: return "tuple"
        case .list: return "list"
        case .dict: return "dict"
        case .global(let m, let n): return "global \(m).\(n)"
        case .storage: return "storage"
        case .tensor: return "tensor"
        }
    }
}

public final class PickleList {
    public var items: [PickleValue] = []
    public init() {}
}

/// Insertion-ordered dict with hashable keys (strings or ints), as state dicts need.
public final class PickleDict {
    public private(set) var keys: [PickleKey] = []
    public private(set) var values: [PickleKey: PickleValue] = [:]
    public func set(_ k: PickleKey, _ v: PickleValue) {
        if values[k] == nil { keys.append(k) }
        values[k] = v
    }
    public subscript(_ s: String) -> PickleValue? { values[.string(s)] }
    /// Drops every entry (used to break reference cycles of a rejected pickle).
    func removeAll() { keys.removeAll(); values.removeAll() }
}

public enum PickleKey: Hashable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    public var description: String {
        switch self { case .string(let s): return s; case .int(let i): return String(i) }
    }
}

public struct PickleStorageRef {
    /// Storage class name, e.g. "FloatStorage", "LongStorage".
    public let type: String
    /// Record key: the storage bytes live in `<archive>/data/<key>`.
    public let key: String
    public let numel: Int
}

public struct PickleTensorRef {
    public let storage: PickleStorageRef
    public let offset: Int
    public let size: [Int]
    public let stride: [Int]
}
