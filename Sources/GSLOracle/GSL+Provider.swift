#if canImport(Glibc)
import Glibc
#endif

extension GSL {
    /// Path of the shared object that provides `symbol` in this process: dlsym(RTLD_DEFAULT) → address, then the
    /// mapping that contains it in /proc/self/maps. Used to prove libgsl runs on libgslcblas, not OpenBLAS
    /// (swift-toolchain.md §5). nil when the symbol or /proc is unavailable.
    public static func provider(of symbol: String) -> String? {
        #if os(Linux)
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, symbol) else { return nil }
        let address = UInt(bitPattern: sym)
        guard let file = fopen("/proc/self/maps", "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        while getline(&line, &cap, file) > 0 {
            guard let l = line else { continue }
            let text = String(cString: l)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6 else { continue }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let lo = UInt(range[0], radix: 16), let hi = UInt(range[1], radix: 16) else { continue }
            if address >= lo && address < hi {
                return fields[5...].joined(separator: " ").trimmingCharacters(in: "\n")
            }
        }
        return nil
        #else
        return nil
        #endif
    }
}

private extension String {
    func trimmingCharacters(in set: Character) -> String {
        var s = self
        while s.last == set { s.removeLast() }
        return s
    }
}
