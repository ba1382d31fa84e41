/// A pickle reader that **builds data and never executes anything**. It accepts only the opcodes
/// and globals a PyTorch state dict needs:
///
/// - plain values and containers (None, bools, ints, floats, str, bytes, tuple, list, dict),
///   memo and mark handling, protocol/frame markers;
/// - the globals `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
///   `torch._utils._rebuild_parameter` and the `torch.<Type>Storage` classes;
/// - persistent ids of the form `('storage', torch.<Type>Storage, key, location, numel)`.
///
/// Any other global (e.g. `os.system`, `builtins.eval`) is refused the moment its GLOBAL or
/// STACK_GLOBAL opcode is read, with an error naming it; so are object-building opcodes
/// (INST, OBJ, NEWOBJ, EXT*), text-protocol opcodes and REDUCE/BUILD on anything not allow-listed.
public struct RestrictedUnpickler {
    public static let allowedGlobals: Set<String> = Set([
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter",
    ]).union(storageElementSize.keys.map { "torch.\($0)" })

    /// Bytes per element for each storage class.
    public static let storageElementSize: [String: Int] = [
        "FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8,
        "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
    ]

    private let b: [UInt8]
    private var pos = 0
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// Every list/dict built, so a rejected or cyclic pickle can be torn down (ARC never frees a cycle).
    private var lists: [PickleList] = []
    private var dicts: [PickleDict] = []

    public static func load(_ bytes: [UInt8]) throws -> PickleValue {
        var u = RestrictedUnpickler(b: bytes)
        do {
            let v = try u.run()
            // Checkpoints never contain a container that contains itself; such a pickle (e.g. a list appended
            // to itself through the memo) is refused, and its boxes are emptied so the cycle does not leak.
            // Every container built is checked (every list and dict the unpickler makes is recorded, so this covers
            // the result's), not only those reachable from the result: a cyclic list popped off the stack before
            // STOP is unreachable but still alive (libFuzzer + LSan found that one too).
            let built = u.lists.map { PickleValue.list($0) } + u.dicts.map { PickleValue.dict($0) }
            if containsCycle(.tuple(built)) {
                throw u.fail("a list or dict contains itself (cyclic structure is not allowed)")
            }
            return v
        } catch {
            u.lists.forEach { $0.items.removeAll() }
            u.dicts.forEach { $0.removeAll() }
            throw error
        }
    }

    /// Depth-first search for a container reachable from itself.
    static func containsCycle(_ root: PickleValue) -> Bool {
        var onPath = Set<ObjectIdentifier>(), done = Set<ObjectIdentifier>()
        func visit(_ v: PickleValue) -> Bool {
            switch v {
            case .tuple(let xs): return xs.contains { visit($0) }
            case .list(let l): return enter(ObjectIdentifier(l)) { l.items.contains { visit($0) } }
            case .dict(let d): return enter(ObjectIdentifier(d)) { d.keys.contains { d.values[$0].map(visit) ?? false } }
            default: return false
            }
        }
        func enter(_ id: ObjectIdentifier, _ body: () -> Bool) -> Bool {
            if onPath.contains(id) { return true }
            if done.contains(id) { return false }
            onPath.insert(id)
            let r = body()
            onPath.remove(id)
            done.insert(id)
            return r
        }
        return visit(root)
    }

    private init(b: [UInt8]) { self.b = b }

    private func fail(_ msg: String) -> IOError { IOError("pickle: \(msg) (at byte \(pos))") }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= b.count - pos else { throw fail("truncated: needs \(n) more bytes, \(b.count - pos) left") }
        defer { pos += n }
        return b[pos..<(pos + n)]
    }
    private mutating func uint(_ n: Int) throws -> UInt64 {
        var v: UInt64 = 0
        for (i, x) in try take(n).enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
        return v
    }
    private mutating func length(_ n: Int) throws -> Int {
        let v = try uint(n)
        guard v <= UInt64(b.count - pos) else { throw fail("declared length \(v) runs past the end of the data") }
        return Int(v)
    }
    private mutating func line() throws -> String {
        guard let nl = b[pos...].firstIndex(of: 0x0A) else { throw fail("truncated GLOBAL (no newline)") }
        defer { pos = nl + 1 }
        return String(decoding: b[pos..<nl], as: UTF8.self)
    }
    private mutating func pop() throws -> PickleValue {
        guard let v = stack.popLast() else { throw fail("stack underflow") }
        if let m = marks.last, stack.count < m { throw fail("stack underflow below a MARK") }
        return v
    }
    private mutating func popMark() throws -> [PickleValue] {
        guard let m = marks.popLast(), m <= stack.count else { throw fail("no MARK on the stack") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }
    private mutating func global(_ module: String, _ name: String) throws -> PickleValue {
        let full = "\(module).\(name)"
        guard Self.allowedGlobals.contains(full) else {
            throw fail("global '\(full)' is not allowed; only tensor-rebuild constructs are accepted (refused without executing anything)")
        }
        return .global(module, name)
    }
    private func key(_ v: PickleValue) throws -> PickleKey {
        switch v {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        default: throw fail("dict key of type \(v.kind) is not supported")
        }
    }

    private mutating func run() throws -> PickleValue {
        while true {
            let op = try take(1).first!
            switch op {
            case 0x80: _ = try take(1)                                   // PROTO
            case 0x95: _ = try take(8)                                   // FRAME
            case 0x2E:                                                   // STOP
                guard stack.count == 1, marks.isEmpty else { throw fail("STOP with \(stack.count) values on the stack") }
                return stack[0]
            case 0x28: marks.append(stack.count)                         // MARK
            case 0x30: _ = try pop()                                     // POP
            case 0x31: _ = try popMark()                                 // POP_MARK
            case 0x32: guard let t = stack.last else { throw fail("DUP on empty stack") }; stack.append(t)
            case 0x4E: stack.append(.none)                               // NONE
            case 0x88: stack.append(.bool(true))                         // NEWTRUE
            case 0x89: stack.append(.bool(false))                        // NEWFALSE
            case 0x4A: stack.append(.int(Int64(Int32(truncatingIfNeeded: try uint(4)))))   // BININT
            case 0x4B: stack.append(.int(Int64(try uint(1))))            // BININT1
            case 0x4D: stack.append(.int(Int64(try uint(2))))            // BININT2
            case 0x8A, 0x8B:                                             // LONG1, LONG4
                let n = try length(op == 0x8A ? 1 : 4)
                guard n <= 8 else { throw fail("integer of \(n) bytes is too large") }
                let bytes = try take(n)
                var v: UInt64 = 0
                for (i, x) in bytes.enumerated() { v |= UInt64(x) << (8 * UInt64(i)) }
                if n > 0 && n < 8 && bytes.last! & 0x80 != 0 { v |= UInt64.max << (8 * UInt64(n)) }
                stack.append(.int(Int64(bitPattern: v)))
            case 0x47:                                                   // BINFLOAT (big-endian)
                var v: UInt64 = 0
                for x in try take(8) { v = v << 8 | UInt64(x) }
                stack.append(.float(Double(bitPattern: v)))
            case 0x58, 0x8C, 0x8D:                                       // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = try length(op == 0x58 ? 4 : op == 0x8C ? 1 : 8)
                let s = try take(n)
                guard let str = String(validating: s, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
                stack.append(.string(str))
            case 0x54, 0x55:                                             // BINSTRING, SHORT_BINSTRING (latin-1)
                let n = try length(op == 0x54 ? 4 : 1)
                stack.append(.string(String(try take(n).map { Character(Unicode.Scalar($0)) })))
            case 0x42, 0x43, 0x8E:                                       // BINBYTES, SHORT_BINBYTES, BINBYTES8
                let n = try length(op == 0x42 ? 4 : op == 0x43 ? 1 : 8)
                stack.append(.bytes(Array(try take(n))))
            case 0x29: stack.append(.tuple([]))                          // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))               // TUPLE
            case 0x85, 0x86, 0x87:                                       // TUPLE1..3
                let n = Int(op - 0x84)
                var items: [PickleValue] = []
                for _ in 0..<n { items.insert(try pop(), at: 0) }
                stack.append(.tuple(items))
            case 0x5D: let l = PickleList(); lists.append(l); stack.append(.list(l))   // EMPTY_LIST
            case 0x6C: let l = PickleList(); lists.append(l); l.items = try popMark(); stack.append(.list(l))
            case 0x61, 0x65:                                             // APPEND, APPENDS
                let items = op == 0x61 ? [try pop()] : try popMark()
                guard case .list(let l) = stack.last ?? .none else { throw fail("APPEND target is not a list") }
                l.items += items
            case 0x7D: let d = PickleDict(); dicts.append(d); stack.append(.dict(d))   // EMPTY_DICT
            case 0x64, 0x73, 0x75:                                       // DICT, SETITEM, SETITEMS
                let items: [PickleValue]
                if op == 0x73 { let v = try pop(); let k = try pop(); items = [k, v] } else { items = try popMark() }
                guard items.count % 2 == 0 else { throw fail("odd number of items for a dict") }
                let d: PickleDict
                if op == 0x64 { d = PickleDict(); dicts.append(d) } else {
                    guard case .dict(let t) = stack.last ?? .none else { throw fail("SETITEM target is not a dict") }
                    d = t
                }
                for i in stride(from: 0, to: items.count, by: 2) { d.set(try key(items[i]), items[i + 1]) }
                if op == 0x64 { stack.append(.dict(d)) }
            case 0x71, 0x72, 0x94:                                       // BINPUT, LONG_BINPUT, MEMOIZE
                let idx = op == 0x94 ? memo.count : Int(try uint(op == 0x71 ? 1 : 4))
                guard let t = stack.last else { throw fail("PUT on empty stack") }
                memo[idx] = t
            case 0x68, 0x6A:                                             // BINGET, LONG_BINGET
                let idx = Int(try uint(op == 0x68 ? 1 : 4))
                guard let v = memo[idx] else { throw fail("memo entry \(idx) does not exist") }
                stack.append(v)
            case 0x63:                                                   // GLOBAL
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                   // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case .string(let name) = n, case .string(let module) = m else { throw fail("STACK_GLOBAL needs two strings") }
                stack.append(try global(module, name))
            case 0x51:                                                   // BINPERSID
                stack.append(try persistent(try pop()))
            case 0x52:                                                   // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args))
            case 0x62:                                                   // BUILD
                let state = try pop()
                guard let target = stack.last else { throw fail("BUILD on empty stack") }
                guard case .dict = target else { throw fail("BUILD on \(target.kind) is not allowed") }
                switch state {
                case .dict, .none, .tuple: break   // OrderedDict's _metadata: ignored, nothing executed
                default: throw fail("BUILD with a \(state.kind) state is not allowed")
                }
            default:
                throw fail("opcode 0x\(String(op, radix: 16)) is not allowed (only the tensor-rebuild subset of pickle is accepted)")
            }
        }
    }

    private func persistent(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let t) = pid, t.count == 5, case .string("storage") = t[0],
              case .global("torch", let type) = t[1], case .string(let key) = t[2], case .int(let numel) = t[4],
              numel >= 0, Self.storageElementSize[type] != nil else {
            throw fail("persistent id is not a ('storage', torch.<Type>Storage, key, location, numel) reference")
        }
        return .storage(PickleStorageRef(type: type, key: key, numel: Int(numel)))
    }

    private func ints(_ v: PickleValue, _ what: String) throws -> [Int] {
        guard case .tuple(let t) = v else { throw fail("\(what) is not a tuple") }
        return try t.map {
            guard case .int(let i) = $0, i >= 0, i <= Int64(Int32.max) else { throw fail("\(what) has a bad entry") }
            return Int(i)
        }
    }

    private mutating func reduce(_ callable: PickleValue, _ args: PickleValue) throws -> PickleValue {
        guard case .global(let module, let name) = callable, case .tuple(let a) = args else {
            throw fail("REDUCE of \(callable.kind) is not allowed")
        }
        switch "\(module).\(name)" {
        case "collections.OrderedDict":
            let d = PickleDict()
            dicts.append(d)
            if let first = a.first {
                guard case .list(let pairs) = first else { throw fail("OrderedDict argument is not a list") }
                for p in pairs.items {
                    guard case .tuple(let kv) = p, kv.count == 2 else { throw fail("OrderedDict item is not a pair") }
                    d.set(try key(kv[0]), kv[1])
                }
            }
            return .dict(d)
        case "torch._utils._rebuild_tensor_v2":
            guard a.count >= 4, case .storage(let s) = a[0], case .int(let off) = a[1], off >= 0, off <= Int64(Int32.max) else {
                throw fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)")
            }
            let size = try ints(a[2], "tensor size"), stride = try ints(a[3], "tensor stride")
            guard size.count == stride.count else { throw fail("tensor size \(size) and stride \(stride) differ in rank") }
            return .tensor(PickleTensorRef(storage: s, offset: Int(off), size: size, stride: stride))
        case "torch._utils._rebuild_parameter":
            guard let first = a.first, case .tensor = first else { throw fail("_rebuild_parameter without a tensor") }
            return first
        default:
            throw fail("calling '\(module).\(name)' is not allowed")
        }
    }
}
